"""Settings of the data system API's vendor, the data platform's lake (``STRATA_DATA_*``)."""

from __future__ import annotations

from typing import ClassVar, Literal

from core.settings import SettingsSection


class DataPlatformSettings(SettingsSection, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Where ``/system/data/v1`` lands batches: a local directory or an S3 bucket."""

    SECTION: ClassVar[str] = "data"
    SECRETS: ClassVar[tuple[str, ...]] = ("s3_secret_access_key",)

    backend: Literal["local", "s3"] = "local"
    """Where the data platform lands batches: ``local`` (``<state_dir>/lake``) or ``s3``."""
    s3_endpoint_url: str = ""
    """S3 endpoint (MinIO, moto, a VPC endpoint); empty = AWS's endpoint for the region."""
    s3_bucket: str = "strata-lake"
    """Bucket of the data lake when ``data_backend`` is ``s3``."""
    s3_prefix: str = ""
    """Key prefix of the lake inside the bucket (e.g. ``strata/``); empty = the bucket root."""
    s3_region: str = "us-east-1"
    """AWS region of the bucket."""
    s3_access_key_id: str = ""
    """S3 access key id; empty = boto3's default credential chain (environment, profile, role)."""
    s3_secret_access_key: str = ""
    """S3 secret access key (a secret: never logged)."""
