"""A picture of a Slack message as its Block Kit reads (sections, image blocks, buttons), for
docs/bots.md: what a grid looks like in a channel, drawn from the very blocks the adapter
sends (`slack_render.blocks`), not from a mock-up.

`python -m imagine_med.bot.preview [out_dir]` renders a phantom chest case, builds the result
message the bot would post (BotCore.result_reply) and writes docs/gallery/slack-grid.png.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

WIDTH = 760
PAD = 14
IMAGE_PX = 360
_EMOJI = re.compile("[\U0001F000-\U0001FFFF\u2600-\u27BF\uFE0F]")  # no glyphs in the font


def _plain(text: str) -> str:
    """mrkdwn as a reader sees it: entities back, *bold* and `code` marks dropped."""
    text = re.sub(r"<@(\w+)>", r"@\1", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return _EMOJI.sub("", re.sub(r"[*_`]", "", text)).strip()


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: Any, width: int) -> list[str]:
    out: list[str] = []
    for para in text.split("\n"):
        line = ""
        for word in para.split(" "):
            trial = f"{line} {word}".strip()
            if draw.textlength(trial, font=font) > width and line:
                out.append(line)
                line = word
            else:
                line = trial
        out.append(line)
    return out


def block_kit_png(blocks: list[dict[str, Any]], files: dict[str, Path],
                  author: str = "imagine-med") -> Image.Image:
    """The message `blocks` as a channel shows it; `files` maps an image block's file id to
    the uploaded file."""
    font = ImageFont.load_default(size=15)
    bold = ImageFont.load_default(size=16)
    scratch = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    items: list[tuple[str, Any]] = []
    height = PAD + 24
    for b in blocks:
        if b["type"] == "section":
            lines = _wrap(scratch, _plain(b["text"]["text"]), font, WIDTH - 2 * PAD)
            items.append(("text", lines))
            height += 20 * len(lines) + 6
        elif b["type"] == "image":
            img = Image.open(files[b["slack_file"]["id"]]).convert("RGB")
            img.thumbnail((IMAGE_PX, IMAGE_PX))
            items.append(("image", img))
            height += img.height + 10
        elif b["type"] == "actions":
            items.append(("buttons", [_plain(e["text"]["text"]) for e in b["elements"]]))
            height += 40
    canvas = Image.new("RGB", (WIDTH, height + PAD), "white")
    d = ImageDraw.Draw(canvas)
    d.text((PAD, PAD), author, fill=(29, 28, 29), font=bold)
    y = PAD + 24
    for kind, item in items:
        if kind == "text":
            for line in item:
                d.text((PAD, y), line, fill=(29, 28, 29), font=font)
                y += 20
            y += 6
        elif kind == "image":
            canvas.paste(item, (PAD, y))
            d.rectangle([PAD, y, PAD + item.width, y + item.height], outline=(220, 220, 220))
            y += item.height + 10
        else:
            x = PAD
            for label in item:
                w = int(d.textlength(label, font=font)) + 20
                d.rounded_rectangle([x, y, x + w, y + 30], 6, outline=(190, 190, 190),
                                    fill=(248, 248, 248))
                d.text((x + 10, y + 7), label, fill=(29, 28, 29), font=font)
                x += w + 6
            y += 40
    return canvas


def build(out_dir: Path) -> Path:
    """The result message of a phantom chest case, as Slack shows it."""
    from imagine_med.bot import slack_render
    from imagine_med.bot.core import BotCore
    from imagine_med.bot.jobs import JobView
    from imagine_med.bot.reply import Reply
    from imagine_med.case import render_case, write_case
    from imagine_med.prompt import parse

    prompt = "PA chest x-ray, right upper lobe consolidation --seed 7 --size 384"
    spec = parse(prompt)[0]
    case = Path(tempfile.mkdtemp(prefix="imagine-med-preview-"))
    files = write_case(render_case(spec), case)
    job = JobView(id="7f3a9c2e41d94b0c8e1f2a3b4c5d6e7f", kind="imagine", state="done",
                  owner="U1", platform="slack", channel="C1", prompt=prompt, spec=spec,
                  files=files)
    reply: Reply = BotCore.result_reply.__get__(_CoreShim())(job)  # no queue needed
    image = slack_render.image_block("F0GRID", reply.attachments[0].alt)
    blocks = slack_render.blocks(reply, images=[image])
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "slack-grid.png"
    block_kit_png(blocks, {"F0GRID": files["grid.png"]}).save(path)
    return path


class _CoreShim:
    """What `BotCore.result_reply` reads of its core: the configuration."""

    def __init__(self) -> None:
        from imagine_med.bot.config import BotConfig

        self.config = BotConfig()

    def _what(self, job: Any) -> str:
        from imagine_med.bot.core import BotCore

        return BotCore._what(self, job)  # type: ignore[arg-type]


if __name__ == "__main__":
    print(build(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/gallery")))
