"""The public JSON API v1 (see API.md). Thin: parse, call the service functions, answer."""
from ninja import NinjaAPI

api = NinjaAPI(title="IKZ Vorderpfalz appointments", version="1", urls_namespace="api-v1")
