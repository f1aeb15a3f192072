"""Creatives on local disk (LocalStorage), served by the app itself at /media/<key>: to players (video/mp4)
and the console (posters, image/jpeg). With S3 the CDN serves them and this route answers 404."""

from flask import current_app, send_from_directory
from werkzeug.exceptions import NotFound

from app.creatives.storage import MEDIA_URL_PATH, LocalStorage, content_type

MEDIA_RULE = f"{MEDIA_URL_PATH}/<path:key>"


def serve_local_media(key: str):
    """Conditional GETs and byte ranges (206); a path outside the directory is a 404."""
    store = current_app.extensions["storage"]
    if not isinstance(store, LocalStorage):
        raise NotFound()
    response = send_from_directory(
        store.directory, key, mimetype=content_type(key), conditional=True, max_age=86400
    )
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
