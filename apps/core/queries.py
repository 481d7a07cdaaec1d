"""Hot-path lookups of one row by a unique key, with SQL the ORM writes once per process instead of every call.

Building and compiling a queryset (``User.objects.filter(pk=…).first()``)
costs about a millisecond of CPU on a small machine: several times what
running the query costs. Authentication does such a lookup on every API
request, so ``RowByKey`` lets the ORM write the statement once, at first use,
and then only executes it and builds the instance the way the ORM does
(``Model.from_db`` after the fields' converters).

The statement names no schema: like every ORM query it runs in the schema
the connection is in (the request's tenant). Rows are never cached, so a
revoked token or a disabled user is seen at once. Written by hand because no
library does this: result caches (django-cachalot and the like) keep rows,
which is what revocation must not meet.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from django.db import connections, models, router

M = TypeVar("M", bound=models.Model)


class RowByKey(Generic[M]):
    """``RowByKey(User, "id").get(42)``: the instance whose unique ``field`` equals the value, or None.

    Only for plain integer or text keys (sent to the database as given) and
    models without inheritance; the instance has every concrete field loaded.
    """

    def __init__(self, model: type[M], field: str):
        if not model._meta.get_field(field).unique:
            raise ValueError(f"{model.__name__}.{field} is not unique: RowByKey returns one row.")
        self.model, self.field = model, field
        self._compiled: tuple[str, str, list[str], list] | None = None

    def _compile(self, alias: str) -> tuple[str, str, list[str], list]:
        queryset = self.model._base_manager.using(alias).filter(**{self.field: 0}).order_by()
        compiler = queryset.query.get_compiler(alias)
        sql, params = compiler.as_sql()
        if len(params) != 1:
            raise ValueError(f"Expected one parameter in {sql!r}")
        names = [column.target.attname for column, _, _ in compiler.select]
        converters = compiler.get_converters([column for column, _, _ in compiler.select])
        return alias, sql, names, [(converters, compiler)] if converters else []

    def get(self, value) -> M | None:
        if self._compiled is None:
            self._compiled = self._compile(router.db_for_read(self.model))
        alias, sql, names, conversion = self._compiled
        with connections[alias].cursor() as cursor:
            cursor.execute(sql, [value])
            row = cursor.fetchone()
        if row is None:
            return None
        for converters, compiler in conversion:
            row = next(iter(compiler.apply_converters([row], converters)))
        return self.model.from_db(alias, names, row)
