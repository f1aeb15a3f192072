import marshmallow as ma

from app.web import UTCDateTime


class LoginSchema(ma.Schema):
    email = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=320))
    password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=1024))


class TokenSchema(ma.Schema):
    token = ma.fields.String(
        required=True, metadata={"description": "Send as `Authorization: Bearer <token>`"}
    )
    expires_at = UTCDateTime(required=True)


class ProfileSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    email = ma.fields.String(required=True)
    created_at = UTCDateTime(required=True)
    token_expires_at = UTCDateTime(required=True)
