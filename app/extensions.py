"""Extensions, created unbound here and bound to an application in create_app()."""

from flask import request
from flask_limiter import Limiter

from app.errors import Api


def client_ip() -> str:
    # ProxyFix (TRUSTED_PROXY_COUNT) has already replaced remote_addr with the client's address.
    return request.remote_addr or "unknown"


api = Api()
limiter = Limiter(key_func=client_ip, default_limits=[], headers_enabled=True)
