"""The pieces of ``bench/report.py``: inputs, formatting, sections, bars and plots."""
