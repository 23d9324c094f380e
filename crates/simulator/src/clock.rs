//! Story time: how far a scenario has progressed, driven by the wall clock or only by hand.

use std::time::Duration;

use tokio::time::Instant;

/// How story time moves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Clock {
    /// Story time is real elapsed time multiplied by `speed` (plus any manual advances).
    Real {
        /// How many story seconds pass per real second; 1.0 is real time.
        speed: f64,
    },
    /// Story time only moves when [`crate::SimHandle::advance`] is called, which makes tests exact.
    Manual,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::Real { speed: 1.0 }
    }
}

impl Clock {
    /// Rejects speeds that would make story time meaningless (negative, NaN or infinite).
    pub(crate) fn validate(self) -> crate::error::Result<Self> {
        match self {
            Clock::Real { speed } if !speed.is_finite() || speed < 0.0 => {
                Err(crate::error::Error::Config(format!(
                    "clock speed must be finite and >= 0, got {speed}"
                )))
            }
            other => Ok(other),
        }
    }
}

/// The running story clock of one scenario.
///
/// It uses tokio's `Instant` rather than std's so that a test which pauses tokio time
/// also controls the simulator's real-time clock.
#[derive(Debug)]
pub(crate) struct StoryClock {
    clock: Clock,
    started: Instant,
    advanced: Duration,
}

impl StoryClock {
    pub(crate) fn new(clock: Clock) -> Self {
        Self {
            clock,
            started: Instant::now(),
            advanced: Duration::ZERO,
        }
    }

    pub(crate) fn clock(&self) -> Clock {
        self.clock
    }

    /// The story time now.
    pub(crate) fn now(&self) -> Duration {
        match self.clock {
            Clock::Manual => self.advanced,
            Clock::Real { speed } => {
                let real = self.started.elapsed().as_secs_f64() * speed;
                let scaled = Duration::try_from_secs_f64(real).unwrap_or(Duration::MAX);
                self.advanced.saturating_add(scaled)
            }
        }
    }

    pub(crate) fn advance(&mut self, by: Duration) {
        self.advanced = self.advanced.saturating_add(by);
    }

    /// Starts the story again at zero, keeping the kind of clock.
    pub(crate) fn restart(&mut self) {
        self.started = Instant::now();
        self.advanced = Duration::ZERO;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_by_hand() {
        let mut clock = StoryClock::new(Clock::Manual);
        assert_eq!(clock.now(), Duration::ZERO);
        clock.advance(Duration::from_secs(90));
        assert_eq!(clock.now(), Duration::from_secs(90));
        clock.restart();
        assert_eq!(clock.now(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn real_clock_scales_elapsed_time() {
        let mut clock = StoryClock::new(Clock::Real { speed: 10.0 });
        tokio::time::advance(Duration::from_secs(3)).await;
        assert_eq!(clock.now(), Duration::from_secs(30));
        clock.advance(Duration::from_secs(5));
        assert_eq!(clock.now(), Duration::from_secs(35));
    }

    #[test]
    fn bad_speeds_are_rejected() {
        assert!(Clock::Real { speed: -1.0 }.validate().is_err());
        assert!(Clock::Real { speed: f64::NAN }.validate().is_err());
        assert!(Clock::Real { speed: 0.0 }.validate().is_ok());
    }
}
