"""Bulk import (issue 18): a spreadsheet read whatever its format (reading), its columns matched
to fields (columns), each row validated and created by the same domain verbs the forms call
(candidats, structures), the whole run previewed then committed (process), the error report and
the templates (report)."""
