"""The ABM review, funnel and calibration pages (entry points: views call one selector or
service each)."""
