"""The human-facing headers of the exports (CSV header rows, the plain-text transcript's
heading), in the requester's UI language.

A CSV's header row is written in the language the request names: ``?ui=`` (every export),
``?lang=`` (the record's CSV exports, where ``lang`` is not the caption language), else the
``rostrum_lang`` cookie, else ``Accept-Language`` (English when none of its languages is a UI
language). A request that names no language at all (a script: no query, no cookie, no
``Accept-Language``) gets the stable machine keys as its header row, as before; JSON always
keeps the machine keys. Pure: values in, values out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from . import ui_language

# One label per column key (snake_case; camelCase keys are looked up as snake_case), in the
# six UI languages. Times are UTC; durations in seconds.
COLUMNS: dict[str, dict[str, str]] = {
    "participant_id": {
        "ar": "معرّف المشارك", "zh": "与会者标识", "en": "Participant ID",
        "fr": "Identifiant du participant", "ru": "Идентификатор участника",
        "es": "Identificador del participante"},
    "name": {"ar": "الاسم", "zh": "姓名", "en": "Name", "fr": "Nom", "ru": "Имя",
             "es": "Nombre"},
    "organization": {"ar": "المنظمة", "zh": "组织", "en": "Organization", "fr": "Organisation",
                     "ru": "Организация", "es": "Organización"},
    "member_state": {"ar": "الدولة العضو", "zh": "成员国", "en": "Member State",
                     "fr": "État Membre", "ru": "Государство-член", "es": "Estado Miembro"},
    "role": {"ar": "الدور", "zh": "角色", "en": "Role", "fr": "Rôle", "ru": "Роль",
             "es": "Función"},
    "joined_at": {"ar": "وقت الانضمام (UTC)", "zh": "加入时间（UTC）", "en": "Joined (UTC)",
                  "fr": "Arrivée (UTC)", "ru": "Вход (UTC)", "es": "Entrada (UTC)"},
    "left_at": {"ar": "وقت المغادرة (UTC)", "zh": "离开时间（UTC）", "en": "Left (UTC)",
                "fr": "Départ (UTC)", "ru": "Выход (UTC)", "es": "Salida (UTC)"},
    "left_reason": {"ar": "سبب المغادرة", "zh": "离开原因", "en": "Reason for leaving",
                    "fr": "Motif du départ", "ru": "Причина выхода",
                    "es": "Motivo de la salida"},
    "duration_s": {"ar": "المدة (ثانية)", "zh": "时长（秒）", "en": "Duration (s)",
                   "fr": "Durée (s)", "ru": "Продолжительность (с)", "es": "Duración (s)"},
    "id": {"ar": "الرقم", "zh": "编号", "en": "No.", "fr": "N°", "ru": "№", "es": "N.º"},
    "time": {"ar": "الوقت (UTC)", "zh": "时间（UTC）", "en": "Time (UTC)", "fr": "Heure (UTC)",
             "ru": "Время (UTC)", "es": "Hora (UTC)"},
    "at": {"ar": "الوقت (ثوانٍ منذ 1970)", "zh": "时间（Unix 秒）", "en": "Time (Unix seconds)",
           "fr": "Heure (secondes Unix)", "ru": "Время (секунды Unix)",
           "es": "Hora (segundos Unix)"},
    "event": {"ar": "الحدث", "zh": "事件", "en": "Event", "fr": "Événement", "ru": "Событие",
              "es": "Evento"},
    "kind": {"ar": "نوع الطلب", "zh": "请求类型", "en": "Type of request",
             "fr": "Type de demande", "ru": "Тип просьбы", "es": "Tipo de solicitud"},
    "note": {"ar": "ملاحظة", "zh": "备注", "en": "Note", "fr": "Note", "ru": "Примечание",
             "es": "Nota"},
    "language": {"ar": "اللغة", "zh": "语言", "en": "Language", "fr": "Langue", "ru": "Язык",
                 "es": "Idioma"},
    "grant_id": {"ar": "معرّف منح الكلمة", "zh": "发言授予标识", "en": "Floor grant ID",
                 "fr": "Identifiant de l'attribution de la parole",
                 "ru": "Идентификатор предоставления слова",
                 "es": "Identificador de la concesión de la palabra"},
    "actor_id": {"ar": "بواسطة (معرّف المشارك)", "zh": "操作者（与会者标识）",
                 "en": "By (participant ID)", "fr": "Par (identifiant du participant)",
                 "ru": "Кем (идентификатор участника)",
                 "es": "Por (identificador del participante)"},
    "reason": {"ar": "السبب", "zh": "原因", "en": "Reason", "fr": "Motif", "ru": "Причина",
               "es": "Motivo"},
    "people": {"ar": "عدد الأشخاص", "zh": "人数", "en": "People", "fr": "Personnes",
               "ru": "Число участников", "es": "Personas"},
    "present_s": {"ar": "مدة الحضور (ثانية)", "zh": "在场时间（秒）", "en": "Time present (s)",
                  "fr": "Temps de présence (s)", "ru": "Время присутствия (с)",
                  "es": "Tiempo de presencia (s)"},
    "interventions": {"ar": "المداخلات", "zh": "发言次数", "en": "Interventions",
                      "fr": "Interventions", "ru": "Выступления", "es": "Intervenciones"},
    "speaking_s": {"ar": "مدة الكلام (ثانية)", "zh": "发言时间（秒）", "en": "Speaking time (s)",
                   "fr": "Temps de parole (s)", "ru": "Время выступлений (с)",
                   "es": "Tiempo de uso de la palabra (s)"},
    "mean_wait_s": {"ar": "متوسط الانتظار (ثانية)", "zh": "平均等待（秒）",
                    "en": "Mean wait (s)", "fr": "Attente moyenne (s)",
                    "ru": "Среднее ожидание (с)", "es": "Espera media (s)"},
    "started_at": {"ar": "وقت البدء (UTC)", "zh": "开始时间（UTC）", "en": "Started (UTC)",
                   "fr": "Début (UTC)", "ru": "Начало (UTC)", "es": "Inicio (UTC)"},
    "count": {"ar": "الطلبات", "zh": "请求数", "en": "Requests", "fr": "Demandes",
              "ru": "Запросы", "es": "Solicitudes"},
    "mean_s": {"ar": "متوسط الانتظار (ثانية)", "zh": "平均等待（秒）", "en": "Mean wait (s)",
               "fr": "Attente moyenne (s)", "ru": "Среднее ожидание (с)",
               "es": "Espera media (s)"},
    "median_s": {"ar": "وسيط الانتظار (ثانية)", "zh": "等待中位数（秒）",
                 "en": "Median wait (s)", "fr": "Attente médiane (s)",
                 "ru": "Медиана ожидания (с)", "es": "Espera mediana (s)"},
    "max_s": {"ar": "أطول انتظار (ثانية)", "zh": "最长等待（秒）", "en": "Longest wait (s)",
              "fr": "Attente maximale (s)", "ru": "Наибольшее ожидание (с)",
              "es": "Espera máxima (s)"},
    "meetings": {"ar": "الاجتماعات", "zh": "会议数", "en": "Meetings", "fr": "Réunions",
                 "ru": "Заседания", "es": "Reuniones"},
    # interpretation coverage (meeting_server/record_booths.py)
    "live_s": {"ar": "وقت الترجمة الشفوية (ثانية)", "zh": "口译时间（秒）",
               "en": "Interpreted (s)", "fr": "Interprété (s)",
               "ru": "Время перевода (с)", "es": "Interpretado (s)"},
    "cough_s": {"ar": "كتم الميكروفون (ثانية)", "zh": "咳嗽键静音（秒）",
                "en": "Cough key (s)", "fr": "Touche de toux (s)",
                "ru": "Кнопка кашля (с)", "es": "Tecla de tos (s)"},
    "passthrough_s": {"ar": "نقل الصوت الأصلي (ثانية)", "zh": "原声直通（秒）",
                      "en": "Floor passed through (s)", "fr": "Son original transmis (s)",
                      "ru": "Трансляция оригинала (с)", "es": "Sonido original (s)"},
    "needed_s": {"ar": "الوقت المطلوب تغطيته (ثانية)", "zh": "需口译时间（秒）",
                 "en": "Needed (s)", "fr": "À couvrir (s)", "ru": "Требовалось (с)",
                 "es": "Necesario (s)"},
    "covered_s": {"ar": "الوقت المغطى (ثانية)", "zh": "已覆盖时间（秒）", "en": "Covered (s)",
                  "fr": "Couvert (s)", "ru": "Обеспечено (с)", "es": "Cubierto (s)"},
    "gap_s": {"ar": "مدة الفجوات (ثانية)", "zh": "缺口时长（秒）", "en": "Gaps (s)",
              "fr": "Lacunes (s)", "ru": "Пробелы (с)", "es": "Lagunas (s)"},
    "gaps": {"ar": "عدد الفجوات", "zh": "缺口次数", "en": "Gaps", "fr": "Lacunes",
             "ru": "Число пробелов", "es": "Lagunas"},
    "handovers": {"ar": "التسليمات", "zh": "交接次数", "en": "Handovers",
                  "fr": "Relèves", "ru": "Передачи смены", "es": "Relevos"},
    "relay_s": {"ar": "الترجمة عبر لغة وسيطة (ثانية)", "zh": "转接传译（秒）",
                "en": "Relay (s)", "fr": "Relais (s)", "ru": "Перевод через реле (с)",
                "es": "Relé (s)"},
    "interpreters": {"ar": "المترجمون الشفويون", "zh": "口译员", "en": "Interpreters",
                     "fr": "Interprètes", "ru": "Устные переводчики", "es": "Intérpretes"},
    "interpreter": {"ar": "المترجم الشفوي", "zh": "口译员姓名", "en": "Interpreter",
                    "fr": "Interprète", "ru": "Устный переводчик", "es": "Intérprete"},
    "state": {"ar": "حالة المقصورة", "zh": "译员间状态", "en": "Booth state",
              "fr": "État de la cabine", "ru": "Состояние кабины",
              "es": "Estado de la cabina"},
    "incoming": {"ar": "مصدر الاستماع", "zh": "收听来源", "en": "Listening to",
                 "fr": "Écoute", "ru": "Источник", "es": "Escucha"},
    "ended_by": {"ar": "سبب الانتهاء", "zh": "结束原因", "en": "Ended by",
                 "fr": "Fin par", "ru": "Причина окончания", "es": "Fin por"},
    "floor_language": {"ar": "لغة المتكلم", "zh": "发言语言", "en": "Floor language",
                       "fr": "Langue de l'orateur", "ru": "Язык оратора",
                       "es": "Idioma del orador"},
}

# The plain-text transcript's own words.
TRANSCRIPT: dict[str, dict[str, str]] = {
    "title": {"ar": "النص الحرفي", "zh": "文字记录", "en": "Transcript", "fr": "Transcription",
              "ru": "Стенограмма", "es": "Transcripción"},
    "no-speaker": {"ar": "(لا أحد يتناول الكلمة)", "zh": "（无人发言）",
                   "en": "(no speaker on the floor)", "fr": "(personne n'a la parole)",
                   "ru": "(слово никому не предоставлено)",
                   "es": "(nadie en el uso de la palabra)"},
}


class LanguageError(ValueError):
    """A ``?ui=``/``?lang=`` that is not one of the UI languages."""


def _snake(key: str) -> str:
    return re.sub(r"(?<=[a-z])([A-Z])", r"_\1", key).lower()


def requested(query: str | None, cookie: str | None, accept_language: str | None) -> str | None:
    """The UI language a request names (query, else cookie, else ``Accept-Language``, English
    when that header names none of the six), or None when it names none at all. A query value
    that is not a UI language is refused (LanguageError)."""
    if query is not None:
        if query not in ui_language.UI_LANGUAGES:
            raise LanguageError(
                f"{query!r} is not a UI language (one of {', '.join(ui_language.UI_LANGUAGES)})")
        return query
    if not (cookie or accept_language):
        return None
    return ui_language.choose(cookie, accept_language)


def header_row(columns: Iterable[str], language: str | None) -> dict[str, str]:
    """The CSV header row for ``columns``: their labels in ``language``, or the keys
    themselves when no language was asked for (a key without a label stays as it is)."""
    if language is None:
        return {c: c for c in columns}
    return {c: COLUMNS.get(_snake(c), {}).get(language, c) for c in columns}


def transcript_words(language: str | None) -> Mapping[str, str]:
    """The plain-text transcript's heading and its "nobody on the floor", in ``language``
    (English when None)."""
    lang = language or ui_language.DEFAULT_LANGUAGE
    return {key: texts[lang] for key, texts in TRANSCRIPT.items()}
