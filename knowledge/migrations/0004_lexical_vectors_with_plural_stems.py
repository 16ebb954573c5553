"""Rebuild every chunk's full-text vector with the tokens retrieval now searches (English plurals stemmed)."""

from django.db import migrations


def rebuild_lexical_vectors(apps, schema_editor) -> None:
    from knowledge.text import index_tokens

    Chunk = apps.get_model("knowledge", "Chunk")
    rows = Chunk.objects.using(schema_editor.connection.alias).values_list("id", "heading", "text").iterator()
    batch: list = []
    with schema_editor.connection.cursor() as cursor:
        for chunk_id, heading, text in rows:
            batch.append((chunk_id, index_tokens(f"{heading} {text}".strip())))
            if len(batch) == 500:
                _update(cursor, batch)
                batch = []
        if batch:
            _update(cursor, batch)


def _update(cursor, batch: list) -> None:
    cursor.execute(
        "UPDATE knowledge_chunk SET lexical = to_tsvector('simple', v.tokens) "
        "FROM unnest(%s::bigint[], %s::text[]) AS v(id, tokens) WHERE knowledge_chunk.id = v.id",
        [[chunk_id for chunk_id, _ in batch], [tokens for _, tokens in batch]],
    )


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0003_unanswered_questions_document_sections_import_owner")]

    operations = [migrations.RunPython(rebuild_lexical_vectors, migrations.RunPython.noop)]
