//! How an environment is observed: by the state vector its task defines, or through
//! rendered frames (the paper's pixel experiments, appendix A.2, Figure 4). A spec states it
//! (`pixels:`), a cell's key holds it when it is not the state, and [`super::make_observed`]
//! builds the environment for it. The renderer itself is [`super::pixels`] (feature
//! `pixels`); these settings exist in every build, so that one without it can refuse a
//! pixel spec with a clear message.

use serde::{Deserialize, Serialize};

/// What an agent observes of an environment.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Observe {
    /// The task's own observation (a state vector, or an Atari game's frames).
    #[default]
    State,
    /// A MuJoCo task's rendered frames, the previous one beside the current one.
    Pixels(PixelSettings),
}

impl Observe {
    /// The task's own observation (left out of cell keys, so state cells keep their hashes).
    pub fn is_state(&self) -> bool {
        *self == Observe::State
    }
}

/// Where the frames are seen from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum PixelCamera {
    /// Gymnasium's default free camera (see the module's header).
    Free,
    /// A camera of the model by name, as a fixed camera (`track`: HalfCheetah's, Hopper's
    /// and Walker2d's `trackcom` camera, which follows the body).
    Named(String),
}

/// How much of MuJoCo's visual quality is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visuals {
    /// The model's own settings, as Gymnasium renders it.
    Default,
    /// No multisampling, shadows or reflections (a departure for speed).
    Fast,
}


/// How a pixel task is seen: the frame's side in pixels, the camera and the visual settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PixelSettings {
    /// Width and height (paper appendix A.2: 42).
    pub size: usize,
    pub camera: PixelCamera,
    pub visuals: Visuals,
}

impl From<String> for PixelCamera {
    fn from(name: String) -> Self {
        if name == "free" {
            PixelCamera::Free
        } else {
            PixelCamera::Named(name)
        }
    }
}

impl From<PixelCamera> for String {
    fn from(c: PixelCamera) -> Self {
        match c {
            PixelCamera::Free => "free".into(),
            PixelCamera::Named(name) => name,
        }
    }
}
