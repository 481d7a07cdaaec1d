"""Sorting and paging a django-tables2 table from the query string, for every list page.

django-tables2's RequestConfig trusts ``per_page`` from the URL (``?per_page=0``
divides by zero); this does the same job with the page size bounded and any
garbage in the query string read as "the default".
"""

from django.core.paginator import EmptyPage
from django.http import HttpRequest
from django_tables2 import Table


def configure_table(request: HttpRequest, table: Table, *, per_page: int = 25, max_per_page: int = 100) -> Table:
    table.request = request
    order_by = request.GET.getlist(table.prefixed_order_by_field)
    if order_by:
        table.order_by = order_by  # unknown or unsortable columns are dropped by the table
    asked = request.GET.get(table.prefixed_per_page_field, "")
    if asked.isdigit():
        per_page = min(max(int(asked), 1), max_per_page)
    page = request.GET.get(table.prefixed_page_field, "")
    try:
        table.paginate(per_page=per_page, page=int(page) if page.isdigit() else 1)
    except EmptyPage:  # past the end (or page 0): the last page
        table.page = table.paginator.page(table.paginator.num_pages)
    return table
