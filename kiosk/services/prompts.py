"""Spoken guidance for elder mode on the touchscreen: each screen's prompt, said through
the speaker when the screen is shown. The page names a prompt; the words are fixed here,
so nobody can make the hall's speaker say anything else."""

from __future__ import annotations

from typing import Any

from kiosk.devices.announcement import Announcement
from kiosk.errors import Invalid

#: prompt → (Mandarin, English), in the order a resident meets them.
PROMPTS: dict[str, tuple[str, str]] = {
    "elder_on": ("长辈模式已打开，字更大。请点选要办理的业务。",
                 "Elder mode is on. Please tap the service you need."),
    "home": ("请点选要办理的业务，取号后留意叫号。", "Please tap the service you need, then listen for your number."),
    "ticket": ("请取走您的号票，留意大厅显示屏和广播叫号。", "Please take your ticket and listen for your number."),
    "id": ("请在屏幕上输入十八位身份证号，再点签到。", "Please enter your ID number on the screen, then tap Check in."),
    "visitor": ("请点每一栏，用屏幕上的键盘填写姓名、手机号和拜访房号。",
                "Please tap each field and fill in your name, phone and the unit you visit."),
    "greeting": ("您已签到，请点选要办理的业务。", "You are checked in. Please choose a service."),
    "case": ("请选择报修或投诉，再选类别，然后点提交。",
             "Choose repair or complaint, then a category, then tap Submit."),
    "rating": ("请点一下您的评分。", "Please tap your score."),
    "survey": ("请为每个问题点选一到五分。", "Please tap a score from one to five for each question."),
    "error": ("抱歉，没有取到号，请重试或到前台咨询。",
              "Sorry, no number was issued. Please try again or ask the front desk."),
}


class PromptService:
    def __init__(self, speaker: Any) -> None:
        self.speaker = speaker

    def say(self, prompt: str) -> None:
        """Queue `prompt` on the speaker; it never waits for the speech."""
        if prompt not in PROMPTS:
            raise Invalid("unknown_prompt", f"unknown prompt {prompt!r}")
        zh, en = PROMPTS[prompt]
        if self.speaker is not None:
            self.speaker.announce(Announcement(key=f"prompt-{prompt}", zh=zh, en=en))
