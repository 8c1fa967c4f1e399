"""Form widgets that render long lists of choices quickly.

Django renders each ``<option>`` of a select through a template: about 0.2 ms per option, so the ~250
countries of a country select cost 50 ms of every list page that offers the filter. These widgets
build the same HTML in Python (a few microseconds per option); everything else (``get_context``,
attributes, option groups, what is selected) is Django's own.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe


def _options_html(groups: list[tuple[Any, list[dict[str, Any]], int]]) -> str:
    parts: list[str] = []
    for group_name, options, _index in groups:
        if group_name:
            parts.append(format_html('<optgroup label="{}">', group_name))
        for option in options:
            attrs = dict(option["attrs"])
            if option["selected"]:
                attrs["selected"] = True
            parts.append(
                f'<option value="{conditional_escape(option["value"])}"{flatatt(attrs)}>'
                f"{conditional_escape(option['label'])}</option>"
            )
        if group_name:
            parts.append("</optgroup>")
    return "".join(parts)


class _FastChoicesMixin:
    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]  # type: ignore[attr-defined]
        element_attrs = {"name": widget["name"], **widget["attrs"]}
        return mark_safe(  # noqa: S308 - every value above is escaped
            f"<select{flatatt(element_attrs)}>{_options_html(widget['optgroups'])}</select>"
        )


class FastSelect(_FastChoicesMixin, forms.Select):
    pass


class FastSelectMultiple(_FastChoicesMixin, forms.SelectMultiple):
    pass


_FAST = {forms.Select: FastSelect, forms.SelectMultiple: FastSelectMultiple}


def fast_choice_widgets(fields: dict[str, forms.Field]) -> None:
    """Swap plain ``Select``/``SelectMultiple`` widgets of ``fields`` for the fast ones, in place."""
    for field in fields.values():
        fast = _FAST.get(type(field.widget))
        if fast is not None:
            field.widget.__class__ = fast
