"""The portal in Dutch (the default, in the incident report's words) and English.

A user's own setting wins; otherwise the browser's Accept-Language decides.
"""

from __future__ import annotations

from typing import Any

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"

MESSAGES: dict[str, dict[str, str]] = {
    "nl": {
        "app_name": "Autopilot",
        "nav_autopilot": "Autopilot",
        "nav_projects": "Projecten",
        "nav_admin": "Beheer",
        "log_out": "Uitloggen",
        "language": "Taal",
        "save": "Opslaan",
        "skip_to_content": "Naar de inhoud",
        "login_title": "Inloggen",
        "login_intro": "Log in om de Autopilot van je projecten te bekijken.",
        "email": "E-mailadres",
        "password": "Wachtwoord",
        "log_in": "Inloggen",
        "login_failed": "Onjuist e-mailadres of wachtwoord.",
        "login_throttled": "Te veel mislukte pogingen. Probeer het over {seconds} "
        "seconden opnieuw.",
        "session_expired": "Je sessie is verlopen. Probeer het opnieuw.",
        "project": "Project",
        "choose_project": "Toon project",
        "no_projects": "Er zijn nog geen projecten voor jouw account.",
        "status_card": "Status",
        "autopilot": "Autopilot",
        "autopilot_on": "Aan",
        "autopilot_off": "Uit (gepauzeerd)",
        "schedule": "Schema",
        "no_schedule": "Geen schema",
        "next_run": "Volgende run",
        "no_next_run": "Geen geplande run",
        "last_result": "Laatste resultaat",
        "no_result": "Nog geen runs",
        "run_now": "Nu uitvoeren",
        "run_confirm_title": "Autopilot nu uitvoeren?",
        "run_confirm_body": "Er wordt direct een artikel geschreven over het volgende "
        "zoekwoord uit het contentplan van {project} en daarna gepubliceerd.",
        "confirm": "Bevestig",
        "dismiss": "Annuleren",
        "busy_since": "Bezig sinds {time} · {stage} {progress}%",
        "pending_hint": "Er staat een run klaar ({time}); Nu uitvoeren start hem "
        "direct.",
        "run_started": "Run {id} is gestart.",
        "run_label": "Run #{id}",
        "run_conflict": "Er loopt al een run: {message}",
        "jobs_title": "Runs",
        "jobs_empty": "Nog geen runs voor dit project.",
        "load_more": "Oudere runs laden",
        "started": "Gestart",
        "duration": "Duur",
        "attempt_of": "poging {attempt} van {max}",
        "article": "Artikel",
        "cancel_job": "Stoppen",
        "cancel_confirm_title": "Run {id} stoppen?",
        "cancel_confirm_body": "Een wachtende run wordt direct geannuleerd; een "
        "lopende run stopt bij de volgende hartslag.",
        "cancel_requested": "Stoppen aangevraagd…",
        "retry_job": "Opnieuw proberen",
        "delete_job": "Verwijderen",
        "delete_confirm_title": "Run {id} verwijderen?",
        "delete_confirm_body": "De run verdwijnt uit de lijst; de geschiedenis blijft "
        "bewaard.",
        "details": "Details",
        "live": "Live",
        "reconnecting": "Verbinding verbroken — opnieuw verbinden…",
        "announce_status": "Run {id}: {status}",
        "status_pending": "In wachtrij",
        "status_generating": "Schrijven",
        "status_publishing": "Publiceren",
        "status_completed": "Voltooid",
        "status_failed": "Mislukt",
        "status_cancelled": "Geannuleerd",
        "stage_generating": "schrijven",
        "stage_publishing": "publiceren",
        "retry_at": "nieuwe poging om {time}",
        "engine_message": "Melding",
        "projects_title": "Projectinstellingen",
        "settings": "Instellingen",
        "site_url": "Website-adres",
        "content_language": "Taal van de artikelen",
        "tone": "Toon",
        "target_words": "Aantal woorden",
        "post_status": "Publiceren als",
        "post_status_draft": "Concept",
        "post_status_publish": "Direct publiceren",
        "post_status_pending": "Ter beoordeling",
        "post_status_private": "Privé",
        "categories": "Categorieën (komma's ertussen)",
        "tags": "Tags (komma's ertussen)",
        "writer": "Schrijver",
        "writer_offline": "Offline (voorbeeldtekst)",
        "writer_openai": "Taalmodel (OpenAI-compatibel)",
        "writer_base_url": "Adres van het taalmodel",
        "writer_model": "Model",
        "writer_api_key": "API-sleutel",
        "publisher": "Publiceren naar",
        "publisher_folder": "Map (Markdown)",
        "publisher_wordpress": "WordPress",
        "publisher_webhook": "Webhook",
        "publisher_site_url": "WordPress-adres",
        "publisher_username": "WordPress-gebruiker",
        "publisher_app_password": "WordPress-applicatiewachtwoord",
        "publisher_url": "Webhook-adres",
        "publisher_secret": "Webhook-geheim",
        "secret_set": "Ingesteld — laat leeg om te bewaren",
        "secret_unset": "Niet ingesteld",
        "secret_clear": "Verwijderen",
        "schedule_title": "Schema",
        "schedule_cron": "Schema (cron, vijf velden)",
        "schedule_help": "Bijvoorbeeld 0 9 * * 1-5 voor werkdagen om 09:00.",
        "timezone": "Tijdzone",
        "autopilot_enabled": "Autopilot aan",
        "plan_title": "Contentplan",
        "plan_empty": "Het contentplan is leeg.",
        "keyword": "Zoekwoord",
        "priority": "Prioriteit",
        "state": "Status",
        "kw_queued": "In wachtrij",
        "kw_in_progress": "Bezig",
        "kw_used": "Gebruikt",
        "kw_failed": "Mislukt",
        "add": "Toevoegen",
        "import": "Importeren",
        "import_help": "Eén zoekwoord per regel, of CSV met de kolommen keyword en "
        "priority.",
        "move_up": "Omhoog",
        "move_down": "Omlaag",
        "remove": "Verwijderen",
        "saved": "Opgeslagen.",
        "keywords_added": "{added} toegevoegd, {skipped} stonden er al.",
        "admin_title": "Beheer",
        "workers_online": "Verwerkers online",
        "no_workers": "Er is geen verwerker online.",
        "worker": "Verwerker",
        "host": "Machine",
        "last_heartbeat": "Laatste hartslag",
        "seconds_ago": "{n} s geleden",
        "active_jobs": "Actieve runs",
        "failed_jobs": "Recent mislukt",
        "none": "Geen.",
        "client": "Klant",
        "error_title": "Er ging iets mis",
        "not_found_title": "Niet gevonden",
        "not_found_body": "Deze pagina bestaat niet, of je hebt er geen toegang toe.",
        "forbidden_title": "Geen toegang",
        "back_to_portal": "Terug naar de portal",
        "noscript": "Voor de live-lijst is JavaScript nodig.",
    },
    "en": {
        "app_name": "Autopilot",
        "nav_autopilot": "Autopilot",
        "nav_projects": "Projects",
        "nav_admin": "Admin",
        "log_out": "Log out",
        "language": "Language",
        "save": "Save",
        "skip_to_content": "Skip to content",
        "login_title": "Log in",
        "login_intro": "Log in to see the Autopilot of your projects.",
        "email": "Email",
        "password": "Password",
        "log_in": "Log in",
        "login_failed": "Wrong email or password.",
        "login_throttled": "Too many failed attempts. Try again in {seconds} seconds.",
        "session_expired": "Your session expired. Please try again.",
        "project": "Project",
        "choose_project": "Show project",
        "no_projects": "There are no projects for your account yet.",
        "status_card": "Status",
        "autopilot": "Autopilot",
        "autopilot_on": "On",
        "autopilot_off": "Off (paused)",
        "schedule": "Schedule",
        "no_schedule": "No schedule",
        "next_run": "Next run",
        "no_next_run": "No run scheduled",
        "last_result": "Last result",
        "no_result": "No runs yet",
        "run_now": "Run now",
        "run_confirm_title": "Run Autopilot now?",
        "run_confirm_body": "An article about the next keyword in the content plan of "
        "{project} is written now and then published.",
        "confirm": "Confirm",
        "dismiss": "Cancel",
        "busy_since": "Running since {time} · {stage} {progress}%",
        "pending_hint": "A run is waiting ({time}); Run now starts it at once.",
        "run_started": "Run {id} started.",
        "run_label": "Run #{id}",
        "run_conflict": "A run is already in progress: {message}",
        "jobs_title": "Runs",
        "jobs_empty": "No runs for this project yet.",
        "load_more": "Load older runs",
        "started": "Started",
        "duration": "Duration",
        "attempt_of": "attempt {attempt} of {max}",
        "article": "Article",
        "cancel_job": "Stop",
        "cancel_confirm_title": "Stop run {id}?",
        "cancel_confirm_body": "A waiting run is cancelled at once; a running one "
        "stops at its next heartbeat.",
        "cancel_requested": "Stop requested…",
        "retry_job": "Retry",
        "delete_job": "Delete",
        "delete_confirm_title": "Delete run {id}?",
        "delete_confirm_body": "The run leaves the list; its history is kept.",
        "details": "Details",
        "live": "Live",
        "reconnecting": "Connection lost — reconnecting…",
        "announce_status": "Run {id}: {status}",
        "status_pending": "Pending",
        "status_generating": "Writing",
        "status_publishing": "Publishing",
        "status_completed": "Completed",
        "status_failed": "Failed",
        "status_cancelled": "Cancelled",
        "stage_generating": "writing",
        "stage_publishing": "publishing",
        "retry_at": "next attempt at {time}",
        "engine_message": "Message",
        "projects_title": "Project settings",
        "settings": "Settings",
        "site_url": "Website address",
        "content_language": "Article language",
        "tone": "Tone",
        "target_words": "Words",
        "post_status": "Publish as",
        "post_status_draft": "Draft",
        "post_status_publish": "Published",
        "post_status_pending": "Pending review",
        "post_status_private": "Private",
        "categories": "Categories (comma separated)",
        "tags": "Tags (comma separated)",
        "writer": "Writer",
        "writer_offline": "Offline (sample text)",
        "writer_openai": "Language model (OpenAI-compatible)",
        "writer_base_url": "Language model address",
        "writer_model": "Model",
        "writer_api_key": "API key",
        "publisher": "Publish to",
        "publisher_folder": "Folder (Markdown)",
        "publisher_wordpress": "WordPress",
        "publisher_webhook": "Webhook",
        "publisher_site_url": "WordPress address",
        "publisher_username": "WordPress user",
        "publisher_app_password": "WordPress application password",
        "publisher_url": "Webhook address",
        "publisher_secret": "Webhook secret",
        "secret_set": "Set — leave empty to keep",
        "secret_unset": "Not set",
        "secret_clear": "Remove",
        "schedule_title": "Schedule",
        "schedule_cron": "Schedule (cron, five fields)",
        "schedule_help": "For example 0 9 * * 1-5 for weekdays at 09:00.",
        "timezone": "Time zone",
        "autopilot_enabled": "Autopilot on",
        "plan_title": "Content plan",
        "plan_empty": "The content plan is empty.",
        "keyword": "Keyword",
        "priority": "Priority",
        "state": "State",
        "kw_queued": "Queued",
        "kw_in_progress": "In progress",
        "kw_used": "Used",
        "kw_failed": "Failed",
        "add": "Add",
        "import": "Import",
        "import_help": "One keyword per line, or CSV with the columns keyword and "
        "priority.",
        "move_up": "Up",
        "move_down": "Down",
        "remove": "Remove",
        "saved": "Saved.",
        "keywords_added": "{added} added, {skipped} were already there.",
        "admin_title": "Admin",
        "workers_online": "Workers online",
        "no_workers": "No worker is online.",
        "worker": "Worker",
        "host": "Host",
        "last_heartbeat": "Last heartbeat",
        "seconds_ago": "{n} s ago",
        "active_jobs": "Active runs",
        "failed_jobs": "Recently failed",
        "none": "None.",
        "client": "Client",
        "error_title": "Something went wrong",
        "not_found_title": "Not found",
        "not_found_body": "This page does not exist, or you have no access to it.",
        "forbidden_title": "No access",
        "back_to_portal": "Back to the portal",
        "noscript": "The live list needs JavaScript.",
    },
}

ERROR_CODES: dict[str, dict[str, str]] = {
    "nl": {
        "worker_lost": "De verwerker van deze run viel weg.",
        "stage_timeout": "Deze stap duurde te lang en is afgebroken.",
        "cancelled": "Geannuleerd op verzoek.",
        "worker_shutdown": "De verwerker werd gestopt; de run staat weer in de "
        "wachtrij en deze poging telt niet mee.",
        "no_keywords": "Het contentplan heeft geen zoekwoorden meer. Voeg "
        "zoekwoorden toe en probeer het opnieuw.",
        "llm_rate_limited": "Het taalmodel kreeg te veel verzoeken; er volgt een "
        "nieuwe poging.",
        "llm_auth_failed": "Het taalmodel weigerde de API-sleutel.",
        "llm_quota_exhausted": "Het tegoed bij het taalmodel is op.",
        "llm_timeout": "Het taalmodel antwoordde niet op tijd.",
        "llm_unavailable": "Het taalmodel is tijdelijk niet beschikbaar.",
        "llm_unreachable": "Het taalmodel is niet bereikbaar.",
        "llm_bad_request": "Het taalmodel weigerde het verzoek.",
        "llm_bad_output": "Het taalmodel gaf een onbruikbaar antwoord.",
        "llm": "Het taalmodel gaf een fout.",
        "publish_auth_failed": "De website weigerde de inloggegevens.",
        "publish_unavailable": "De website is tijdelijk niet bereikbaar; er volgt een "
        "nieuwe poging.",
        "publish_rejected": "De website weigerde het artikel.",
        "publish_bad_response": "De website gaf een onverwacht antwoord.",
        "publish": "Publiceren is mislukt.",
        "internal_error": "Er ging onverwacht iets mis.",
        "invalid_config": "De instellingen van dit project zijn niet compleet.",
        "other": "De run is mislukt.",
    },
    "en": {
        "worker_lost": "The worker of this run was lost.",
        "stage_timeout": "This stage took too long and was stopped.",
        "cancelled": "Cancelled on request.",
        "worker_shutdown": "The worker was stopped; the run is back in the queue and "
        "this attempt does not count.",
        "no_keywords": "The content plan has no keywords left. Add keywords and try "
        "again.",
        "llm_rate_limited": "The language model had too many requests; it will be "
        "retried.",
        "llm_auth_failed": "The language model refused the API key.",
        "llm_quota_exhausted": "The language model's quota is used up.",
        "llm_timeout": "The language model did not answer in time.",
        "llm_unavailable": "The language model is temporarily unavailable.",
        "llm_unreachable": "The language model cannot be reached.",
        "llm_bad_request": "The language model refused the request.",
        "llm_bad_output": "The language model gave an unusable answer.",
        "llm": "The language model returned an error.",
        "publish_auth_failed": "The website refused the credentials.",
        "publish_unavailable": "The website is temporarily unavailable; it will be "
        "retried.",
        "publish_rejected": "The website rejected the article.",
        "publish_bad_response": "The website gave an unexpected answer.",
        "publish": "Publishing failed.",
        "internal_error": "Something unexpected went wrong.",
        "invalid_config": "This project's settings are incomplete.",
        "other": "The run failed.",
    },
}


def error_text(language: str, code: str | None) -> str | None:
    """The words for an error code; families (llm_*, publish_*) share a fallback."""
    if code is None:
        return None
    table = ERROR_CODES[language]
    if code in table:
        return table[code]
    family = code.split("_", 1)[0]
    return table.get(family, table["other"])


def negotiate(preferred: str | None, accept_language: str | None) -> str:
    """The user's own language, else the best of Accept-Language, else Dutch."""
    if preferred in LANGUAGES:
        return preferred
    ranked: list[tuple[float, str]] = []
    for part in (accept_language or "").split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        base = tag.strip().lower().split("-")[0]
        if base in LANGUAGES and quality > 0:
            ranked.append((quality, base))
    if not ranked:
        return DEFAULT_LANGUAGE
    return max(ranked, key=lambda item: item[0])[1]


class Translator:
    """``t("key", name=value)`` for one language, as templates call it."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE
        self.messages = MESSAGES[self.language]

    def __call__(self, key: str, **values: Any) -> str:
        text = self.messages.get(key) or MESSAGES["en"].get(key) or key
        return text.format(**values) if values else text

    def client_bundle(self) -> dict[str, Any]:
        """Everything the page's JavaScript needs to speak the same words."""
        return {
            "language": self.language,
            "messages": self.messages,
            "errors": ERROR_CODES[self.language],
        }
