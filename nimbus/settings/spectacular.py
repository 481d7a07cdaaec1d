"""Django REST framework and drf-spectacular (OpenAPI 3.1)."""

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Tokens first: their 401 carries a WWW-Authenticate challenge (session auth alone would answer 403).
    # The API-token class takes only "Bearer nmb_…"; every other Bearer credential is a JWT.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.api.authentication.ApiTokenAuthentication",
        "apps.accounts.api.authentication.JWTAuthentication",
        "apps.core.api.authentication.SessionAuthentication",
    ],
    # The API speaks JSON only: anything else is a 415 that names what is accepted.
    "DEFAULT_PARSER_CLASSES": ["apps.core.api.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "apps.core.api.exceptions.problem_exception_handler",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Nimbus API",
    "DESCRIPTION": "Multi-tenant cloud management. Every tenant answers on its own host.",
    "VERSION": "1.0.0",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI and Redoc are served from the installed sidecar package, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets whose field name ("kind") other components use with other choices: named once, here.
    "ENUM_NAME_OVERRIDES": {
        "AuditRedactionRuleKindEnum": "apps.audit.models.RedactionRule.Kind",
        "IdentityProviderKindEnum": "apps.identity.models.ProviderKind",
    },
}
