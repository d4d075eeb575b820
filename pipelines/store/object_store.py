"""An S3-compatible object store as roadchief reaches it: where, as whom, and why it refused.

An `s3://bucket/prefix` output is read and written from several places: Beam's S3
filesystem in every worker, and boto3 and pyarrow in the process that runs or reads
(`pipelines.store.output_bucket`, `pipelines.analysis.tables`). All of them take the endpoint and
credentials from the standard AWS variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_SESSION_TOKEN, AWS_REGION or AWS_DEFAULT_REGION, AWS_ENDPOINT_URL), so one set of
variables serves a TaskManager's workers and the operator's shell alike. Beam's own
`--s3_*` flags, where given, take precedence for a run; they travel in the job's
options, where anyone who can see the job (the Flink web UI) reads them, so the
variables are the better home for a secret.
"""
import os
import re
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlparse

import boto3
from apache_beam.options.pipeline_options import PipelineOptions, S3Options
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from pyarrow.fs import S3FileSystem

from pipelines.errors import ObjectStoreError

SCHEME = "s3://"
_ANY_SCHEME = re.compile(r"^(?P<scheme>[a-zA-Z][-a-zA-Z0-9+.]*)://")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# Why a request was refused, in the operator's words, by the store's error code.
_REFUSALS = {
    "SignatureDoesNotMatch": "the secret access key was refused (SignatureDoesNotMatch)",
    "InvalidAccessKeyId": "the access key id is unknown to the store (InvalidAccessKeyId)",
    "XAdminUserNotFound": "the access key id is unknown to the store",
    "AccessDenied": "access denied: the credentials may not write there",
    "NoSuchBucket": "the bucket does not exist",
    "InvalidBucketName": "the bucket name is not valid",
    "ExpiredToken": "the session token has expired",
}


def scheme_of(location: str) -> str | None:
    """`s3` of `s3://bucket/x`; None for a local path."""
    match = _ANY_SCHEME.match(location)
    return match["scheme"].lower() if match else None


def is_s3(location: str) -> bool:
    return scheme_of(str(location)) == "s3"


class S3Location(NamedTuple):
    bucket: str
    prefix: str  # without slashes at either end; "" for the bucket's root

    @classmethod
    def parse(cls, location: str) -> "S3Location":
        parsed = urlparse(location)
        if not _BUCKET.match(parsed.netloc):
            raise ObjectStoreError(f"{location}: {parsed.netloc!r} is not a bucket name "
                                   f"(3-63 lower-case letters, digits, dots and hyphens)")
        return cls(parsed.netloc, parsed.path.strip("/"))

    def key(self, *parts: str) -> str:
        return "/".join(part for part in (self.prefix, *parts) if part)

    def url(self, *parts: str) -> str:
        return f"{SCHEME}{self.bucket}/{self.key(*parts)}"


@dataclass(frozen=True)
class ObjectStore:
    """Endpoint and credentials; None leaves a setting to boto3's and pyarrow's own defaults."""
    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    region: str | None = None

    @classmethod
    def from_environment(cls) -> "ObjectStore":
        env = os.environ.get
        return cls(env("AWS_ENDPOINT_URL_S3") or env("AWS_ENDPOINT_URL"), env("AWS_ACCESS_KEY_ID"),
                   env("AWS_SECRET_ACCESS_KEY"), env("AWS_SESSION_TOKEN"),
                   env("AWS_REGION") or env("AWS_DEFAULT_REGION"))

    @classmethod
    def for_run(cls, options: PipelineOptions) -> "ObjectStore":
        """What the run's workers use: Beam's `--s3_*` flags where given, the variables otherwise."""
        flags = options.view_as(S3Options)
        env = cls.from_environment()
        return cls(flags.s3_endpoint_url or env.endpoint_url, flags.s3_access_key_id or env.access_key_id,
                   flags.s3_secret_access_key or env.secret_access_key,
                   flags.s3_session_token or env.session_token, flags.s3_region_name or env.region)

    def client(self, timeout_s: float = 30.0):
        """A boto3 S3 client; a store that does not answer fails within `timeout_s` per try."""
        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint_url, aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key, aws_session_token=self.session_token,
            region_name=self.region,
            config=Config(connect_timeout=timeout_s, read_timeout=timeout_s, retries={"max_attempts": 3}))

    def filesystem(self) -> S3FileSystem:
        """The same store for pyarrow, which reads the tables back."""
        endpoint = urlparse(self.endpoint_url) if self.endpoint_url else None
        return S3FileSystem(access_key=self.access_key_id, secret_key=self.secret_access_key,
                            session_token=self.session_token, region=self.region,
                            endpoint_override=endpoint.netloc if endpoint else None,
                            scheme=endpoint.scheme if endpoint else "https")


def refusal(failure: Exception) -> str:
    """Why the store refused or could not be reached, in one line."""
    if isinstance(failure, NoCredentialsError):
        return "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    if isinstance(failure, ClientError):
        error = failure.response.get("Error", {})
        code = error.get("Code", "")
        return _REFUSALS.get(code) or f"{code}: {error.get('Message', failure)}"
    if isinstance(failure, BotoCoreError):
        return str(failure)
    return f"{type(failure).__name__}: {failure}"


def precondition_failed(failure: Exception) -> bool:
    """The store refused a conditional request because its condition no longer holds."""
    return isinstance(failure, ClientError) and (
        failure.response.get("Error", {}).get("Code") == "PreconditionFailed"
        or failure.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 412)


def not_found(failure: Exception) -> bool:
    return isinstance(failure, ClientError) and failure.response.get("Error", {}).get("Code") in (
        "NoSuchKey", "404", "NotFound")
