"""The public JSON API v1 under /api/v1/: schemas, error shape, endpoints."""
