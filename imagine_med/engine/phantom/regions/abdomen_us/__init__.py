"""Abdominal ultrasound views (issue 16): right upper quadrant, FAST, left upper quadrant."""
