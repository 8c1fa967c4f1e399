"""What every file Clientela writes for a spreadsheet shares: cells that can never run as formulas.

Spreadsheet programs (Excel, LibreOffice Calc, Google Sheets) read a cell whose text starts with ``=``,
``+``, ``-`` or ``@`` as a formula, and some also after a leading tab or carriage return; a formula can
run commands or send data away (OWASP "CSV Injection"). Exports and import reports pass every text cell
through ``spreadsheet_safe``, which puts an apostrophe in front of such text: spreadsheets then show the
text as it is.
"""

from __future__ import annotations

# OWASP's list: https://owasp.org/www-community/attacks/CSV_Injection
FORMULA_TRIGGERS = frozenset({"=", "+", "-", "@", "\t", "\r"})


def spreadsheet_safe(value: str) -> str:
    """``value``, with an apostrophe in front when a spreadsheet could read it as a formula.

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is escaped (so is an E.164
    phone number such as ``+4532123456``); anything else comes back unchanged, the empty text included.
    """
    if value and value[0] in FORMULA_TRIGGERS:
        return "'" + value
    return value
