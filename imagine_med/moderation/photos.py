"""Full-face photographs of a real person (HIPAA Safe Harbor identifier 17).

A synthetic face with Bell's palsy is fine for teaching; a full-face photograph of *this*
patient, "my neighbour" or "the lady in room 12" is a request to picture a real, identifiable
person. Both parts must be present: a face-photo term and a cue that the subject is a real,
specific person (or that the face must stay recognisable).
"""

from __future__ import annotations

import re

_FACE_PHOTO = re.compile(
    r"(?<![a-z])(?:full[\s\-]*(?:frontal[\s\-]*)?face|whole[\s\-]+face|frontal[\s\-]+face"
    r"|head[\s\-]*shot|passport[\s\-]*(?:style|photo)|mugshot|face[\s\-]+(?:photo\w*|picture|pic"
    r"|portrait|shot|image)|facial[\s\-]+(?:photo\w*|picture|portrait|image)|portrait)(?![a-z])"
)
_REAL_SUBJECT = re.compile(
    r"(?<![a-z])(?:(?:my|our|this|that)\s+(?:\w+\s+)?(?:patient|client|neighbou?r|friend|wife"
    r"|husband|son|daughter|mother|mum|mom|father|dad|colleague|boss|brother|sister|partner"
    r"|resident|grandmother|grandfather|child|kid)'?s?"
    r"|(?:patient|lady|man|woman|gentleman|boy|girl)\s+in\s+(?:bed|room|bay|cubicle)"
    r"|(?:bed|room|bay)\s+\d+|real\s+(?:patient|person)|actual\s+(?:patient|person)"
    r"|identifiable|recogni[sz]able|unblurred|unmasked|not\s+blurred|no\s+blur\w*)(?![a-z])"
)


def find_face_photos(folded: str) -> list[tuple[int, int]]:
    """Spans (of the face-photo term) when a real person's face is asked for."""
    face = _FACE_PHOTO.search(folded)
    if face is None or _REAL_SUBJECT.search(folded) is None:
        return []
    return [face.span()]
