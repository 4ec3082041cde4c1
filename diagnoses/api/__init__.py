"""The REST API under /api/v1/ for PACS bridges, scripts and other hospital systems."""
