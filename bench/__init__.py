"""`make bench`: load data with COPY, run the real stack, measure it beside floors, report."""
