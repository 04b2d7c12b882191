"""The practice's own words for what counselors offer: one place for each list, used by forms, filters and the API.

Codes are stable (stored and used in URLs); labels are what people read.
"""
from __future__ import annotations

SPECIALTIES: dict[str, str] = {
    "trust_issues": "Trust issues",
    "infidelity_recovery": "Recovery after an affair",
    "jealousy_insecurity": "Jealousy and insecurity",
    "communication": "Communication and conflict",
    "attachment": "Attachment and past wounds",
    "emotional_distance": "Emotional distance",
    "separation_decisions": "Deciding whether to stay or go",
    "partner_violence": "Partner violence and safety",
    "anxiety_depression": "Anxiety and low mood",
    "blended_families": "Blended families",
}

MODALITIES: dict[str, str] = {
    "eft": "Emotionally Focused Therapy (EFT)",
    "gottman": "Gottman Method",
    "cbt": "Cognitive Behavioral Therapy (CBT)",
    "discernment": "Discernment counseling",
    "ifs": "Internal Family Systems (IFS)",
    "dbt": "Dialectical Behavior Therapy (DBT)",
    "psychodynamic": "Psychodynamic therapy",
    "solution_focused": "Solution-focused therapy",
}

LANGUAGES: dict[str, str] = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "pt": "Portuguese",
    "zh": "Mandarin",
    "ko": "Korean",
    "vi": "Vietnamese",
    "ar": "Arabic",
    "hi": "Hindi",
    "asl": "American Sign Language",
}

FORMATS: dict[str, str] = {"individual": "Individual", "couple": "Couples"}

CREDENTIALS: dict[str, str] = {
    "LMHC": "Licensed Mental Health Counselor",
    "LPC": "Licensed Professional Counselor",
    "LMFT": "Licensed Marriage and Family Therapist",
    "LCSW": "Licensed Clinical Social Worker",
    "PsyD": "Doctor of Psychology",
    "PhD": "Licensed Psychologist (PhD)",
}

US_STATES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana",
    "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland",
    "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri",
    "MT": "Montana", "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey",
    "NM": "New Mexico", "NY": "New York", "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio",
    "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina",
    "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont",
    "VA": "Virginia", "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
}

# Zones offered in the counselor form: the US zones a practice is likely to use, plus a few more.
TIMEZONES: list[str] = [
    "America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles",
    "America/Anchorage", "Pacific/Honolulu", "America/Puerto_Rico", "Europe/London", "UTC",
]

# Which tag kinds exist, and the vocabulary each draws from.
TAG_KINDS: dict[str, dict[str, str]] = {
    "specialty": SPECIALTIES,
    "modality": MODALITIES,
    "language": LANGUAGES,
}
