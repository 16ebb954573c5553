"""Background work on a tenant's knowledge base."""

from __future__ import annotations

from config.celery import app
from knowledge.faqs import reembed_chunks
from knowledge.imports import run_import_job
from knowledge.lexicon import refresh_lexical_snapshots
from knowledge.retrieval import refresh_vector_indexes
from knowledge.uploads import process_document
from tenancy.tasks import TenantTask


@app.task(base=TenantTask, acks_late=True)
def reembed_tenant(tenant_id: int) -> int:
    """Recompute every chunk embedding of the tenant (after a model change); returns the number of chunks."""
    return reembed_chunks()


@app.task(base=TenantTask, acks_late=True)
def process_uploaded_document(tenant_id: int, document_id: int) -> str:
    """Read, chunk and embed an uploaded document; returns its state."""
    return process_document(document_id=document_id).state


# Not a TenantTask: that runs the whole task in one transaction, and an import commits each batch of rows
# with its progress so the curator can watch it; run_import_job sets the tenant for every batch itself.
@app.task(acks_late=True)
def import_faq_file(tenant_id: int, job_id: int) -> str:
    """Import the FAQ file of an import job; returns the job's state."""
    return run_import_job(tenant_id=int(tenant_id), job_id=job_id).state


@app.task
def refresh_large_tenants() -> dict[str, dict[str, list]]:
    """The beat task: each large tenant's own vector index and lexical snapshot (see knowledge.lexicon)."""
    return {"vector_indexes": refresh_vector_indexes(), "lexical_snapshots": refresh_lexical_snapshots()}
