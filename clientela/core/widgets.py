"""Form widgets that render long lists of choices quickly.

Django renders each ``<option>`` of a select through a template: about 0.2 ms per option, so the ~250
countries of a country select cost 50 ms of every list page that offers the filter. These widgets
build the same HTML in Python (about a microsecond per option), with Django's rules for attributes,
option groups and what is selected.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe


def _option(value: Any, label: Any, chosen: set[str], state: list[bool]) -> str:
    """One ``<option>``; ``state`` is [a match was marked, only one may be]."""
    text = "" if value is None else str(value)
    selected = text in chosen and not state[0]
    if selected and state[1]:
        state[0] = True  # a single select marks only its first match, like Django's
    return (
        f'<option value="{conditional_escape(text)}"{" selected" if selected else ""}>'
        f"{conditional_escape(label)}</option>"
    )


class _FastChoicesMixin:
    """Renders ``<select>`` and its options in Python, with Django's rules for what is selected."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        widget: Any = self
        element_attrs = {"name": name, **widget.build_attrs(widget.attrs, attrs)}
        if widget.allow_multiple_selected:
            element_attrs["multiple"] = True
        chosen = {str(item) for item in widget.format_value(value)}
        state = [False, not widget.allow_multiple_selected]
        parts = []
        for option_value, option_label in widget.choices:
            if isinstance(option_label, list | tuple):
                parts.append(format_html('<optgroup label="{}">', option_value))
                parts += [_option(v, label, chosen, state) for v, label in option_label]
                parts.append("</optgroup>")
            else:
                parts.append(_option(option_value, option_label, chosen, state))
        return mark_safe(  # noqa: S308 - every value above is escaped
            f"<select{flatatt(element_attrs)}>{''.join(parts)}</select>"
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
