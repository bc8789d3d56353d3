"""The prompt language: one grammar for every adapter, parsed into CaseSpec."""

from imagine_med.prompt.errors import PromptError
from imagine_med.prompt.parser import parse, parse_one
from imagine_med.prompt.spec import CaseSpec, Finding

__all__ = ["CaseSpec", "Finding", "PromptError", "parse", "parse_one"]
