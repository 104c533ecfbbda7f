"""Daily consolidation and monthly analysis: figures computed from the store, rendered as
HTML with server-side SVG charts, CSV and XLSX from the same tables."""
