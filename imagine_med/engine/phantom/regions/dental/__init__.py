"""The jaws and teeth (issue 19): maxilla, mandible, condyles, sinuses and the dentition by age,
drawn in focal-trough coordinates for panoramic films (physics/panoramic.py)."""
