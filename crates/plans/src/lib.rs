//! Plan tiers and the features they unlock.
//!
//! Tiers are data: an ordered list read from configuration, lowest first, with
//! the minimum tier of each feature. Both auth and mfa ask this crate whether
//! an organization's plan allows a feature, so the answer is the same
//! everywhere.

use serde::Deserialize;

/// The tiers when configuration names none, lowest first.
pub const DEFAULT_TIERS: [&str; 3] = ["prime", "essential", "professional"];
/// The lowest tier with MFA when configuration names none.
pub const DEFAULT_MFA_MINIMUM: &str = "essential";
/// The lowest tier that may require MFA of all members.
pub const DEFAULT_ENFORCEMENT_MINIMUM: &str = "essential";

/// A feature that only some plans include.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    /// Enrolling a second factor.
    Mfa,
    /// Requiring MFA of every member of an organization.
    Enforcement,
}

impl Feature {
    /// The feature's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Feature::Mfa => "multi-factor authentication",
            Feature::Enforcement => "MFA enforcement",
        }
    }
}

/// The plan settings as configuration spells them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlansConfig {
    /// Tier names, lowest first. Default: `prime`, `essential`, `professional`.
    pub tiers: Vec<String>,
    /// Lowest tier with MFA. Default: `essential`.
    pub mfa_minimum: String,
    /// Lowest tier that may enforce MFA. Default: `essential`.
    pub enforcement_minimum: String,
}

impl Default for PlansConfig {
    fn default() -> Self {
        Self {
            tiers: DEFAULT_TIERS.iter().map(|t| t.to_string()).collect(),
            mfa_minimum: DEFAULT_MFA_MINIMUM.to_string(),
            enforcement_minimum: DEFAULT_ENFORCEMENT_MINIMUM.to_string(),
        }
    }
}

/// Why a plan configuration was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("plan tiers are empty")]
    NoTiers,
    #[error("plan tier {0:?} is listed twice")]
    DuplicateTier(String),
    #[error("plan tier {0:?} is not a lowercase word")]
    BadTierName(String),
    #[error("minimum plan {0:?} is not one of the tiers")]
    UnknownMinimum(String),
}

/// A plan too low for a feature.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{feature} needs the {needed} plan or higher")]
pub struct Denied {
    /// The feature's name.
    pub feature: &'static str,
    /// The lowest plan that has it.
    pub needed: String,
}

/// The validated tier list.
#[derive(Debug, Clone)]
pub struct Plans {
    tiers: Vec<String>,
    mfa_minimum: usize,
    enforcement_minimum: usize,
}

impl Default for Plans {
    fn default() -> Self {
        Self {
            tiers: DEFAULT_TIERS.iter().map(|t| t.to_string()).collect(),
            mfa_minimum: 1,
            enforcement_minimum: 1,
        }
    }
}

impl Plans {
    /// Checks a configuration: tiers unique lowercase words, minimums among them.
    pub fn new(config: &PlansConfig) -> Result<Self, ConfigError> {
        if config.tiers.is_empty() {
            return Err(ConfigError::NoTiers);
        }
        for (i, tier) in config.tiers.iter().enumerate() {
            let word =
                !tier.is_empty() && tier.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            if !word {
                return Err(ConfigError::BadTierName(tier.clone()));
            }
            if config.tiers[..i].contains(tier) {
                return Err(ConfigError::DuplicateTier(tier.clone()));
            }
        }
        let rank = |name: &str| {
            config
                .tiers
                .iter()
                .position(|t| t == name)
                .ok_or_else(|| ConfigError::UnknownMinimum(name.to_string()))
        };
        Ok(Self {
            mfa_minimum: rank(&config.mfa_minimum)?,
            enforcement_minimum: rank(&config.enforcement_minimum)?,
            tiers: config.tiers.clone(),
        })
    }

    /// Whether `plan` is one of the configured tiers.
    pub fn is_known(&self, plan: &str) -> bool {
        self.tiers.iter().any(|t| t == plan)
    }

    /// Allows `feature` on `plan`, or names the plan it needs. An unknown
    /// plan has no features.
    pub fn check(&self, plan: &str, feature: Feature) -> Result<(), Denied> {
        let minimum = match feature {
            Feature::Mfa => self.mfa_minimum,
            Feature::Enforcement => self.enforcement_minimum,
        };
        match self.tiers.iter().position(|t| t == plan) {
            Some(rank) if rank >= minimum => Ok(()),
            _ => Err(Denied {
                feature: feature.name(),
                needed: self.tiers[minimum].clone(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(tiers: &[&str], minimum: &str) -> PlansConfig {
        PlansConfig {
            tiers: tiers.iter().map(|t| t.to_string()).collect(),
            mfa_minimum: minimum.to_string(),
            enforcement_minimum: minimum.to_string(),
        }
    }

    #[test]
    fn check_allows_mfa_from_essential_up_by_default() {
        let plans = Plans::new(&PlansConfig::default()).unwrap();

        assert!(plans.check("essential", Feature::Mfa).is_ok());
        assert!(plans.check("professional", Feature::Mfa).is_ok());
    }

    #[test]
    fn check_names_needed_plan_when_plan_is_prime() {
        let plans = Plans::default();

        let denied = plans.check("prime", Feature::Mfa).unwrap_err();

        assert_eq!(denied.needed, "essential");
        assert_eq!(
            denied.to_string(),
            "multi-factor authentication needs the essential plan or higher"
        );
    }

    #[test]
    fn check_denies_when_plan_is_unknown() {
        let plans = Plans::default();

        assert!(plans.check("platinum", Feature::Enforcement).is_err());
    }

    #[test]
    fn new_follows_configured_order() {
        let plans = Plans::new(&config(&["free", "team", "enterprise"], "enterprise")).unwrap();

        assert!(plans.check("team", Feature::Mfa).is_err());
        assert!(plans.check("enterprise", Feature::Mfa).is_ok());
    }

    #[test]
    fn new_rejects_unknown_minimum() {
        let err = Plans::new(&config(&["free"], "gold")).unwrap_err();

        assert_eq!(err, ConfigError::UnknownMinimum("gold".into()));
    }

    #[test]
    fn new_rejects_duplicate_and_malformed_tiers() {
        assert!(matches!(
            Plans::new(&config(&["a", "a"], "a")),
            Err(ConfigError::DuplicateTier(_))
        ));
        assert!(matches!(
            Plans::new(&config(&["Gold"], "Gold")),
            Err(ConfigError::BadTierName(_))
        ));
        assert_eq!(
            Plans::new(&config(&[], "a")).unwrap_err(),
            ConfigError::NoTiers
        );
    }
}
