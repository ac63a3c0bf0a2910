"""What a playbook can tune in each detector: the three settings models, frozen and validated.

They live apart from the detectors because the detectors are compiled with mypyc (see ``setup.py``) and
pydantic models are not: mypyc would check each ``Field(...)`` default against its annotation. Each
detector module imports its settings from here, so ``from app.pipeline.spikes import SpikeSettings`` works
as before.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.pipeline.alerts import AlertKind
from app.playbooks import PlaybookError, PlaybookSet


class SpikeSettings(BaseModel):
    """Thresholds of the spike detector; every field can be overridden from a playbook's
    ``detector_settings: {spike: {...}}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window_minutes: float = Field(default=10.0, gt=0, le=240)
    bucket_seconds: float = Field(default=30.0, gt=0, le=600, description="sub-bucket; the update step")
    timezone: str = Field(default="Europe/Amsterdam", description="for the hour-of-week profile and calendar")
    min_count: int = Field(default=10, ge=1, description="posts in the window before a key can fire")
    min_ratio: float = Field(default=3.0, ge=1.0, description="window count / expected before testing")
    max_p_value: float = Field(default=1e-6, gt=0, lt=1, description="tail probability that opens an episode")
    dispersion: float = Field(
        default=10.0, gt=0, description="negative binomial size for extra-Poisson variation of the rate"
    )
    baseline_half_life_hours: float = Field(default=48.0, gt=0)
    shape_half_life_days: float = Field(default=28.0, gt=0)
    shape_prior_posts_day: float = Field(
        default=20.0, ge=0, description="weight of the diurnal prior per hour of the day, in posts"
    )
    shape_prior_posts_week: float = Field(
        default=50.0, ge=0, description="weight of the daily profile per hour of the week, in posts"
    )
    clip_ratio: float = Field(default=3.0, ge=1.0, description="a sub-bucket adds at most this x expected")
    episode_clip_ratio: float = Field(
        default=1.5, ge=1.0, description="... and at most this x expected while the key's spike is open"
    )
    clip_min_posts: float = Field(default=1.0, ge=0, description="... but always this many posts")
    prior_rate_per_hour: float = Field(default=1.0, gt=0, description="expected rate of a key never seen")
    prior_weight_hours: float = Field(default=2.0, gt=0, description="how much that prior weighs")
    warmup_minutes: float = Field(default=60.0, ge=0, description="no alerts this soon after the start")
    learning_hours: float = Field(
        default=24.0,
        ge=0,
        description="alerts this soon after the start say the day's rhythm is not yet known",
    )
    close_ratio: float = Field(default=1.5, ge=1.0)
    close_after_minutes: float = Field(default=30.0, ge=0)
    severity_medium: tuple[float, int] = Field(default=(5.0, 20), description="(ratio, posts) for medium")
    severity_high: tuple[float, int] = Field(default=(10.0, 50), description="(ratio, posts) for high")
    severity_critical: tuple[float, int] = Field(default=(30.0, 150), description="(ratio, posts) critical")
    suppress_explained: bool = Field(default=True, description="hold back alerts an area alert explains")
    explain_share: float = Field(default=0.5, gt=0, le=1)
    explain_grace_seconds: float = Field(
        default=300.0, ge=0, description="at most this long an alert waits for its rising area's alert"
    )
    key_ttl_hours: float = Field(default=24.0, gt=0, description="hashtag and cell keys expire after this")
    max_keys: int = Field(default=50_000, ge=100, description="hashtag and cell keys kept at most")
    recent_posts_per_key: int = Field(default=200, ge=10)
    sweep_minutes: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _window_of_whole_buckets(self) -> SpikeSettings:
        buckets = self.window_minutes * 60.0 / self.bucket_seconds
        if abs(buckets - round(buckets)) > 1e-9 or round(buckets) < 2:
            raise ValueError("window_minutes must be a whole number (>= 2) of sub-buckets of bucket_seconds")
        ZoneInfo(self.timezone)  # raises for an unknown zone, at load time rather than mid-stream
        return self

    @property
    def buckets(self) -> int:
        return round(self.window_minutes * 60.0 / self.bucket_seconds)

    def with_playbooks(self, playbooks: PlaybookSet) -> SpikeSettings:
        overrides = playbooks.settings_for(AlertKind.SPIKE)
        if not overrides:
            return self
        try:
            return SpikeSettings.model_validate({**self.model_dump(), **overrides})
        except ValidationError as error:
            raise PlaybookError(f"detector_settings.spike: {error}") from error


class MobilisationSettings(BaseModel):
    """Thresholds of the mobilisation detector; a playbook's ``detector_settings.mobilisation`` overrides.

    Defaults were tuned on generated Project X scenarios with seeds 100-109 (see
    ``benchmarks/eval_mobilisation.py``) and are reported on other seeds.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_reshares: int = Field(default=15, ge=1, description="reposts + quotes of the call before an alert")
    min_authors: int = Field(default=12, ge=1, description="distinct authors in the cascade")
    min_outside_authors: int = Field(
        default=2, ge=0, description="distinct authors who travel from, or post from, another municipality"
    )
    # Without outside interest, a call must have been shared on two days running and be growing.
    sustained_min_reshares: int = Field(default=20, ge=1, description="reposts + quotes in the last 24 h")
    sustained_min_previous: int = Field(default=3, ge=0, description="...and in the 24 h before that")
    sustained_min_growth: float = Field(
        default=2.0, ge=0, description="(last 24 h + 1) / (24 h before + 1), reposts + quotes"
    )
    sustained_active_hours: int = Field(
        default=8, ge=1, le=24, description="clock hours with reposts or quotes among the last 24"
    )
    sustained_max_burst_share: float = Field(
        default=0.66, ge=0, le=1, description="share of the last 24 h's reshares in its busiest 3 hours"
    )
    sustained_min_authors: int = Field(default=20, ge=1, description="distinct authors in the cascade")
    window_hours: float = Field(default=6.0, gt=0, description="window for rate and acceleration")
    min_rate_per_hour: float = Field(default=1.0, ge=0, description="reshares+mentions/h in the last window")
    min_acceleration: float = Field(
        default=1.5, ge=0, description="(last window + 1) / (window before + 1), reshares+mentions"
    )
    max_days_ahead: int = Field(default=30, ge=0, description="invitations further ahead are ignored")
    default_hour: int = Field(default=20, ge=0, le=23, description="announced hour when none is written")
    expire_after_hours: float = Field(
        default=30.0, gt=0, description="a cascade ends this long after its announced time"
    )
    inactive_hours: float = Field(default=72.0, gt=0, description="a silent, unalerted cascade ends")
    max_cascades: int = Field(default=5_000, ge=1)
    max_tracked_posts: int = Field(default=200_000, ge=1, description="post -> cascade links kept")
    max_tracked_authors: int = Field(default=50_000, ge=1, description="distinct authors counted exactly")
    max_hashtags: int = Field(default=5, ge=0, description="hashtags one cascade may claim")
    update_growth: float = Field(default=0.25, gt=0, description="re-send when reshares grew by this share")
    update_every_hours: float = Field(default=1.0, gt=0, description="...or this long after the last update")
    medium_spread: int = Field(default=200, ge=1, description="reshares + mentions for severity medium")
    high_spread: int = Field(default=1_000, ge=1, description="...and for high")
    high_outside_share: float = Field(default=0.15, ge=0, le=1)
    high_outside_min_authors: int = Field(default=20, ge=1)
    min_escalation_posts: int = Field(default=3, ge=1, description="cascade posts with escalation cues")
    min_scene_escalation_posts: int = Field(
        default=5, ge=1, description="posts about the place with escalation cues near the time: critical"
    )
    scene_before_hours: float = Field(default=2.0, ge=0, description="scene watch starts this long before")


def settings_from(base: MobilisationSettings, playbooks: PlaybookSet) -> MobilisationSettings:
    """``base`` with the playbooks' overrides applied and validated."""
    overrides = playbooks.settings_for(AlertKind.MOBILISATION)
    try:
        return MobilisationSettings.model_validate({**base.model_dump(), **overrides})
    except ValidationError as error:
        raise PlaybookError(f"detector_settings.mobilisation: {error}") from error


class RumourSettings(BaseModel):
    """Thresholds of the rumour detector; playbooks override any of them (``detector_settings.rumour``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_posts: int = Field(default=5, ge=2, description="posts (incl. reposts and reactions) before a case")
    min_authors: int = Field(default=3, ge=1, description="distinct accounts before a case")
    min_score: float = Field(default=0.5, ge=0.0, le=1.0, description="claim score before a case")
    min_signals: int = Field(
        default=1,
        ge=0,
        description="posts questioning, denying or hedging the claim before a case, whatever the model says",
    )
    prior: float = Field(
        default=0.25, gt=0.0, lt=1.0, description="starting score of a claim when there is no classifier"
    )
    evidence_contested: float = Field(
        default=2.0, ge=0.0, description="log-odds added when the claim is fully contested"
    )
    evidence_hedged: float = Field(default=1.0, ge=0.0, description="log-odds added when its carriers hedge")
    contested_full: float = Field(
        default=0.3, gt=0.0, le=1.0, description="share of its posts questioning or denying that counts fully"
    )
    prior_posts: float = Field(
        default=2.0, ge=0.0, description="neutral pseudo-posts added when computing the contested share"
    )
    hedged_full: float = Field(
        default=0.5, gt=0.0, le=1.0, description="share of carriers hedging that counts fully"
    )
    model_sample: int = Field(default=8, ge=1, description="carrier texts per claim the classifier scores")
    bands: int = Field(default=16, ge=1, le=64, description="LSH bands")
    rows: int = Field(default=2, ge=1, le=8, description="signature values per LSH band")
    min_similarity: float = Field(
        default=0.4,
        gt=0.0,
        le=1.0,
        description="Jaccard similarity of words to join a claim (see ClaimIndex)",
    )
    min_words: int = Field(default=3, ge=2, description="content words a post needs to be matched by words")
    max_anchors: int = Field(default=4, ge=1, description="texts per claim that new posts are matched to")
    generation_minutes: float = Field(default=180.0, gt=0.0, description="event time per index generation")
    max_posts_per_generation: int = Field(
        default=100_000, ge=1_000, description="posts per generation; a flood rotates early"
    )
    label_memory: int = Field(
        default=10_000,
        ge=0,
        description="posts whose labels labels() can give; each keeps its claim alive, so this costs memory",
    )
    spread_minutes: int = Field(default=10, ge=1, description="bucket width of details['spread']")
    growth_minutes: int = Field(default=30, ge=1, description="window compared for growth")
    update_growth: float = Field(
        default=0.1, ge=0.0, description="relative growth in posts before an alert is sent again"
    )
    medium_posts: int = Field(default=25, ge=1)
    high_posts: int = Field(default=100, ge=1)
    critical_posts: int = Field(default=500, ge=1)
    high_score: float = Field(default=0.6, ge=0.0, le=1.0, description="score a case needs to rank high")
    growth_factor: float = Field(
        default=2.0, ge=1.0, description="last window / window before it that counts as fast growth"
    )
    calls_to_mobilisation: bool = Field(
        default=True,
        description="a claim that calls people to gather (invitation lexicon, a day or time, no incident"
        " named) is no rumour case: the mobilisation detector follows it",
    )

    @model_validator(mode="after")
    def _consistent(self) -> RumourSettings:
        if not self.medium_posts <= self.high_posts <= self.critical_posts:
            raise ValueError("medium_posts <= high_posts <= critical_posts")
        return self
