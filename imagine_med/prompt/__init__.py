"""The prompt language: one grammar for every adapter, parsed into CaseSpec."""

from imagine_med.prompt.errors import PromptError
from imagine_med.prompt.parser import parse, parse_one
from imagine_med.prompt.spec import CaseSpec, Finding
from imagine_med.prompt.text import clean_prompt, normalise

__all__ = [
    "CaseSpec", "Finding", "PromptError", "clean_prompt", "normalise", "parse", "parse_one",
]
