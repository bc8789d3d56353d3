"""Teaching workflows: balanced case sets, exports (PPTX, PDF, DICOM ZIP), PACS sending, and the
same patient across modalities and time.

Exports and PACS take a list of `TeachingCase` (`cases.py`): the written files of one case,
whether it came from a case set, a finished job or a saved collection, so every source feeds
every export the same way.
"""
