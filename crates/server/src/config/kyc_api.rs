//! KYC-by-API settings: how large a submission may be, how many are processed at once,
//! and how long its body may stall.

use std::time::Duration;

use api::kyc::KycUploadLimits;
use clap::Args;

/// Limits of `POST /customer/{id}/kyc`.
#[derive(Debug, Clone, Args)]
pub struct KycApiSettings {
    /// Largest body of a KYC submission, in bytes (default 34 MiB: 24 MB of images is
    /// about 32 MiB once base64-encoded). Other routes keep their 64 KiB.
    #[arg(long, env = "KYC_BODY_LIMIT_BYTES", default_value_t = 34 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1024..=268_435_456), global = true)]
    pub kyc_body_limit_bytes: u64,

    /// KYC submissions processed at once (across all workers); beyond that, 503 with
    /// Retry-After, before any of the body is read.
    #[arg(long, env = "KYC_MAX_CONCURRENT_SUBMISSIONS", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=1024), global = true)]
    pub kyc_max_concurrent_submissions: u64,

    /// Longest pause in a KYC submission's body, in milliseconds, before 408.
    #[arg(long, env = "KYC_BODY_IDLE_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..), global = true)]
    pub kyc_body_idle_timeout_ms: u64,
}

impl KycApiSettings {
    /// The upload limits, to share between every HTTP worker.
    pub fn upload_limits(&self) -> anyhow::Result<KycUploadLimits> {
        Ok(KycUploadLimits::new(
            usize::try_from(self.kyc_body_limit_bytes)?,
            usize::try_from(self.kyc_max_concurrent_submissions)?,
            Duration::from_millis(self.kyc_body_idle_timeout_ms),
        ))
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::config;

    #[test]
    fn the_defaults_are_34_mib_four_at_once_and_ten_seconds_of_silence() {
        let limits = config(&[]).kyc_api.upload_limits().unwrap();
        assert_eq!(limits.body_limit, 34 * 1024 * 1024);
        assert_eq!(limits.available(), 4);
        assert_eq!(limits.idle_timeout, std::time::Duration::from_secs(10));
        let set = config(&[
            "--kyc-body-limit-bytes=2048",
            "--kyc-max-concurrent-submissions=1",
            "--kyc-body-idle-timeout-ms=250",
        ]);
        let limits = set.kyc_api.upload_limits().unwrap();
        assert_eq!((limits.body_limit, limits.available()), (2048, 1));
        assert!(
            crate::Config::from_args(["server", "--kyc-max-concurrent-submissions=0"]).is_err()
        );
    }
}
