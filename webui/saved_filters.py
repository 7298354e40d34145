"""The inbox filter parameters of a request, as a saved filter keeps them (the filters are engine.saved_filters)."""

from __future__ import annotations

FILTER_KEYS = ("item", "stage", "colour", "department", "q", "sort")


def clean_query(values) -> dict[str, str]:
    """The filter parameters of a request, empty ones dropped."""
    return {k: str(values.get(k)).strip()[:200] for k in FILTER_KEYS if str(values.get(k) or "").strip()}
