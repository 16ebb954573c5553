from django.db import migrations

# Row-level security evaluates a table's policy before any operator that is not leakproof, and tsvector's @@
# is not: under the policy PostgreSQL cannot use the GIN index on knowledge_chunk.lexical and filters every
# chunk of the tenant instead. This function, owned by the table owner (who is not subject to the policy),
# applies the same tenant condition itself and lets the index answer the text match.
CREATE = """
CREATE FUNCTION knowledge_chunks_matching(query tsquery, max_rows integer DEFAULT NULL)
RETURNS TABLE (chunk_id bigint, source_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.id, coalesce(c.faq_entry_id, -c.id)
    FROM public.knowledge_chunk c
    WHERE c.tenant_id = NULLIF(current_setting('lantern.tenant_id', true), '')::bigint
      AND c.lexical @@ query
    LIMIT max_rows
$$
"""

DROP = "DROP FUNCTION knowledge_chunks_matching(tsquery, integer)"


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0005_lexical_snapshots_of_large_tenants")]

    operations = [migrations.RunSQL(CREATE, DROP)]
