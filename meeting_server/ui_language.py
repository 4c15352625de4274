"""The UI language of a page the server renders, and the server's own texts shown to people.

The browser remembers the participant's choice (web/static/i18n.js) in localStorage and in
the ``rostrum_lang`` cookie; without a choice the browser's ``Accept-Language`` decides, then
English. The page is rendered with ``<html lang dir>`` in that language, so it is laid out in
the right direction from its first paint (Arabic right to left), and the few texts the server
writes for people (the page for a meeting that does not exist, the no-JavaScript notice) are
in it too. Pure: values in, values out.
"""

from __future__ import annotations

UI_LANGUAGES: tuple[str, ...] = ("ar", "zh", "en", "fr", "ru", "es")
DEFAULT_LANGUAGE = "en"
RTL_LANGUAGES = frozenset({"ar"})
COOKIE = "rostrum_lang"

# Texts the server itself shows to people, in every UI language.
TEXTS: dict[str, dict[str, str]] = {
    "no-such-meeting": {
        "ar": "لا يوجد اجتماع بهذا الرابط. تحققوا من رابط الدعوة.",
        "zh": "没有与此链接对应的会议。请检查您的邀请链接。",
        "en": "There is no meeting at this address. Check your invitation link.",
        "fr": "Aucune réunion ne correspond à cette adresse. Vérifiez votre lien d'invitation.",
        "ru": "По этому адресу заседания нет. Проверьте ссылку-приглашение.",
        "es": "No hay ninguna reunión en esta dirección. Compruebe su enlace de invitación.",
    },
    "noscript": {
        "ar": "تحتاج صفحة الاجتماع هذه إلى JavaScript.",
        "zh": "本会议页面需要启用 JavaScript。",
        "en": "This meeting page needs JavaScript.",
        "fr": "Cette page de réunion nécessite JavaScript.",
        "ru": "Для этой страницы заседания нужен JavaScript.",
        "es": "Esta página de reunión necesita JavaScript.",
    },
    "index": {
        "ar": "خادم اجتماعات Rostrum. افتحوا رابط الانضمام الذي تلقيتموه.",
        "zh": "Rostrum 会议服务器。请打开您收到的加入链接。",
        "en": "Rostrum meeting server. Open the join link you were given.",
        "fr": "Serveur de réunions Rostrum. Ouvrez le lien d'invitation que vous avez reçu.",
        "ru": "Сервер заседаний Rostrum. Откройте полученную ссылку для подключения.",
        "es": "Servidor de reuniones Rostrum. Abra el enlace de acceso que ha recibido.",
    },
}


def _parse_accept_language(header: str) -> list[str]:
    """Language tags of an ``Accept-Language`` header, best first (q=0 dropped)."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        if not tag or len(tag) > 35:
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            weighted.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(weighted)]


def choose(cookie: str | None, accept_language: str | None) -> str:
    """The UI language: a valid cookie, else the best ``Accept-Language`` match, else English."""
    if cookie and cookie in UI_LANGUAGES:
        return cookie
    for tag in _parse_accept_language(accept_language or ""):
        primary = tag.split("-", 1)[0]
        if primary in UI_LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


def direction(language: str) -> str:
    """``rtl`` for a language written right to left, else ``ltr``."""
    return "rtl" if language in RTL_LANGUAGES else "ltr"


def text(key: str, language: str) -> str:
    """One of the server's texts in ``language`` (English when the language is unknown)."""
    texts = TEXTS[key]
    return texts.get(language, texts[DEFAULT_LANGUAGE])
