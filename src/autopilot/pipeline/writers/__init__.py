"""Writers turn a brief into a draft; ``make_writer`` builds one from settings."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from autopilot.errors import ConfigError
from autopilot.pipeline.types import Writer

KNOWN_WRITERS = ("offline", "openai")

META_DESCRIPTION_LIMIT = 155

_SLUG_LIMIT = 80

# NFKD folds accents but leaves these letters alone; spell them out instead.
_LIGATURES = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O"})


def slugify(text: str) -> str:
    """Return a lowercase ASCII slug of words joined by hyphens."""
    folded = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    ascii_text = folded.encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")

    if len(slug) > _SLUG_LIMIT:
        slug = slug[:_SLUG_LIMIT].rsplit("-", 1)[0]
    if slug:
        return slug

    # A title in a script without an ASCII folding still needs a stable address.
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]
    return f"article-{digest}"


def shorten(text: str, limit: int = META_DESCRIPTION_LIMIT) -> str:
    """Return the text on one line, cut at a word boundary to at most limit chars."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat

    cut = flat[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:-—")
    return f"{cut}…"


def is_dutch(language: str) -> bool:
    """Tell whether a language tag (``nl``, ``nl-BE``) asks for Dutch."""
    return language.lower().replace("_", "-").split("-")[0] == "nl"


def make_writer(
    kind: str, settings: Mapping[str, Any], secrets: Mapping[str, str]
) -> Writer:
    """Build the writer a project is configured for."""
    # Imported here so the offline path never loads the OpenAI SDK.
    if kind == "offline":
        from autopilot.pipeline.writers.offline import OfflineWriter

        return OfflineWriter(
            section_delay_seconds=_number(settings, "section_delay_seconds", 0.0)
        )

    if kind == "openai":
        from autopilot.pipeline.writers.openai import OpenAIWriter

        return OpenAIWriter(
            base_url=_required(settings, "base_url", "--writer-base-url URL"),
            model=_required(settings, "model", "--writer-model MODEL"),
            api_key=secrets.get("api_key", ""),
            timeout_seconds=_number(settings, "timeout_seconds", 60.0),
            temperature=_number(settings, "temperature", 0.7),
        )

    known = ", ".join(KNOWN_WRITERS)
    raise ConfigError(f"Unknown writer {kind!r}: choose one of {known}.")


def _required(settings: Mapping[str, Any], name: str, option: str) -> str:
    """Return a non-empty text setting or say how to set it."""
    value = settings.get(name)
    if value is None or not str(value).strip():
        raise ConfigError(
            f"Project setting writer.{name} is missing: set it with "
            f"`autopilot projects set PROJECT {option}`."
        )

    return str(value).strip()


def _number(settings: Mapping[str, Any], name: str, default: float) -> float:
    """Return a numeric setting, its default when absent, or say what is wrong."""
    value = settings.get(name)
    if value is None:
        return default

    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"Project setting writer.{name} must be a number, not {value!r}."
        ) from exc

    if number < 0:
        raise ConfigError(
            f"Project setting writer.{name} must be zero or more, not {value!r}."
        )
    return number
