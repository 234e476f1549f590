from rest_framework.pagination import PageNumberPagination


class CappedPageNumberPagination(PageNumberPagination):
    """Page-number pagination; `page_size` is honoured up to 200."""

    page_size_query_param = "page_size"
    max_page_size = 200
