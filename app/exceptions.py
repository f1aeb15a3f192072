"""Errors the services raise; the web layer maps each to its HTTP status and JSON shape."""


class ServiceError(Exception):
    status = 400

    def __init__(self, message: str, details: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class Invalid(ServiceError):
    status = 400


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class TooLarge(ServiceError):
    status = 413


class UnsupportedMedia(ServiceError):
    status = 415


class Unavailable(ServiceError):
    status = 503
