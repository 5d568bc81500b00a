//! A population entry of the file (`- kind: ...`), and the registry of the
//! kinds that files can name.
//!
//! A kind is a parameter type that implements
//! [`PopulationKind`](cascade_agents::PopulationKind): its name in files,
//! its checks, and the facts about it that the experiment's checks and the
//! budget need. The twelve kinds of `cascade_agents` are registered from
//! the start; another crate adds its own with [`register`] before it reads
//! a file (see `experiments/examples/stop_hunter.rs`). Reading, writing,
//! the JSON Schema and the located error messages all go through the
//! registry, so a new kind needs no edit here.

use cascade_agents::arbitrageur::ArbitrageurParams;
use cascade_agents::execution::ExecutionParams;
use cascade_agents::framework::ParamError;
use cascade_agents::framework::market::MarketParams;
use cascade_agents::framework::protocol::ProtocolParams;
use cascade_agents::fund::{DemandNoiseParams, FundParams};
use cascade_agents::fundamental::FundamentalParams;
use cascade_agents::keeper::KeeperParams;
use cascade_agents::leveraged::LeveragedParams;
use cascade_agents::maker::MakerParams;
use cascade_agents::noise::NoiseParams;
use cascade_agents::portfolio::PortfolioParams;
use cascade_agents::predator::PredatorParams;
use cascade_agents::strategic::StrategicParams;
use cascade_agents::{Population, PopulationKind};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_yaml::Value;
use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::sync::{LazyLock, PoisonError, RwLock};

/// A population of a registered kind, with its parameters.
#[derive(Debug)]
pub struct PopulationSpec(Box<dyn Entry>);

impl PopulationSpec {
    /// A population of kind `K`.
    pub fn new<K: PopulationKind>(params: K) -> Self {
        PopulationSpec(Box::new(params))
    }

    /// Its kind's name in files.
    pub fn kind(&self) -> &'static str {
        self.0.kind()
    }

    /// Its parameters, if it is of kind `K`.
    pub fn get<K: PopulationKind>(&self) -> Option<&K> {
        self.0.as_any().downcast_ref()
    }

    /// The population as something to install.
    pub fn population(&self) -> &dyn Population {
        self.0.population()
    }

    /// Checks the parameters that can be checked without a simulation.
    pub fn validate(&self) -> Result<(), ParamError> {
        self.0.check()
    }

    /// Checks the parameters against the file's markets and protocol.
    pub fn fits(&self, markets: &[MarketParams], protocol: &ProtocolParams) -> Result<(), ParamError> {
        self.0.fits(markets, protocol)
    }

    /// The number of agents.
    pub fn count(&self) -> u32 {
        self.0.count()
    }

    /// The number of the first agent.
    pub fn first_index(&self) -> u32 {
        self.0.first_index()
    }

    /// The agents' numbers.
    pub fn indices(&self) -> std::ops::Range<u64> {
        let first = u64::from(self.first_index());
        first..first + u64::from(self.count())
    }

    /// Collateral each agent is given from outside, micros.
    pub fn capital(&self) -> i64 {
        self.0.capital()
    }

    /// Base units of a spot asset each agent is given from outside.
    pub fn base_inventory(&self) -> i64 {
        self.0.base_inventory()
    }

    /// The highest market index the population refers to.
    pub fn market(&self) -> u16 {
        self.0.market()
    }

    /// Expected orders a tick of the whole population.
    pub fn orders_per_tick(&self) -> f64 {
        self.0.orders_per_tick()
    }

    /// Whether its agents hold positions the protocol may liquidate.
    pub fn holds_positions(&self) -> bool {
        self.0.holds_positions()
    }

    /// Whether its agents scan every open auction each tick.
    pub fn scans_auctions(&self) -> bool {
        self.0.scans_auctions()
    }
}

impl Clone for PopulationSpec {
    fn clone(&self) -> Self {
        PopulationSpec(self.0.boxed())
    }
}

impl PartialEq for PopulationSpec {
    fn eq(&self, other: &Self) -> bool {
        self.0.same(other.0.as_any())
    }
}

impl Serialize for PopulationSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        /// The entry as a file writes it: `kind` first, then the fields.
        #[derive(Serialize)]
        struct Tagged<'a> {
            kind: &'static str,
            #[serde(flatten)]
            params: &'a dyn Entry,
        }
        Tagged { kind: self.kind(), params: &*self.0 }.serialize(s)
    }
}

impl<'de> Deserialize<'de> for PopulationSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        read(Value::deserialize(d)?).map_err(|e| D::Error::custom(e.to_string()))
    }
}

impl JsonSchema for PopulationSpec {
    fn schema_name() -> Cow<'static, str> {
        "PopulationSpec".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let one_of: Vec<serde_json::Value> = registered().iter().map(|k| (k.schema)(generator).to_value()).collect();
        schemars::json_schema!({ "description": "A population, by `kind`.", "oneOf": one_of })
    }
}

/// Why a population entry cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadError {
    /// The field below the entry (`""` for the entry itself, `kind`,
    /// `leverage.median`).
    pub path: String,
    /// What is wrong, in the deserialiser's words.
    pub message: String,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() { f.write_str(&self.message) } else { write!(f, "{}: {}", self.path, self.message) }
    }
}

impl std::error::Error for ReadError {}

/// Reads a population entry as its registered kind; an error names the
/// field below the entry.
pub fn read(item: Value) -> Result<PopulationSpec, ReadError> {
    let fail = |path: &str, message: String| ReadError { path: path.to_owned(), message };
    let Value::Mapping(mut map) = item else {
        return Err(fail("", format!("a population is a mapping with a `kind` ({})", kinds().join(", "))));
    };
    let kind = map.remove("kind");
    let found = kind.as_ref().and_then(Value::as_str).and_then(|k| registered().into_iter().find(|r| r.kind == k));
    let Some(found) = found else {
        let what = match kind.as_ref().map(|k| k.as_str()) {
            None => "missing field `kind`".to_owned(),
            Some(Some(k)) => format!("unknown kind `{k}`"),
            Some(None) => "`kind` is not a name".to_owned(),
        };
        return Err(fail("kind", format!("{what}, expected one of {}", kinds().join(", "))));
    };
    (found.read)(Value::Mapping(map)).map_err(|e| {
        let path = e.path().to_string();
        fail(if path == "." { "" } else { &path }, e.into_inner().to_string())
    })
}

/// Adds kind `K` to those files can name. Kinds are registered once per
/// process, before files are read; a second kind with the same name is
/// refused.
pub fn register<K: PopulationKind>() -> Result<(), DuplicateKind> {
    let mut kinds = KINDS.write().unwrap_or_else(PoisonError::into_inner);
    if kinds.iter().any(|k| k.kind == K::KIND) {
        return Err(DuplicateKind(K::KIND));
    }
    kinds.push(Registered::of::<K>());
    Ok(())
}

/// A kind's name was registered twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a population kind named `{0}` is already registered")]
pub struct DuplicateKind(pub &'static str);

/// How many kinds are registered (it only grows).
pub fn registered_count() -> usize {
    KINDS.read().unwrap_or_else(PoisonError::into_inner).len()
}

/// The names of the registered kinds, in the order they were registered.
pub fn kinds() -> Vec<&'static str> {
    registered().iter().map(|k| k.kind).collect()
}

/// What the registry keeps of a kind.
#[derive(Clone, Copy)]
struct Registered {
    kind: &'static str,
    read: fn(Value) -> Result<PopulationSpec, serde_path_to_error::Error<serde_yaml::Error>>,
    schema: fn(&mut SchemaGenerator) -> Schema,
}

impl Registered {
    fn of<K: PopulationKind>() -> Self {
        Registered {
            kind: K::KIND,
            read: |v| serde_path_to_error::deserialize::<_, K>(v).map(PopulationSpec::new),
            schema: schema_of::<K>,
        }
    }
}

/// The kinds of `cascade_agents`.
static KINDS: LazyLock<RwLock<Vec<Registered>>> = LazyLock::new(|| {
    RwLock::new(vec![
        Registered::of::<LeveragedParams>(),
        Registered::of::<MakerParams>(),
        Registered::of::<PredatorParams>(),
        Registered::of::<NoiseParams>(),
        Registered::of::<FundamentalParams>(),
        Registered::of::<KeeperParams>(),
        Registered::of::<PortfolioParams>(),
        Registered::of::<ArbitrageurParams>(),
        Registered::of::<StrategicParams>(),
        Registered::of::<ExecutionParams>(),
        Registered::of::<FundParams>(),
        Registered::of::<DemandNoiseParams>(),
    ])
});

fn registered() -> Vec<Registered> {
    KINDS.read().unwrap_or_else(PoisonError::into_inner).clone()
}

/// A kind's entry in the schema: its parameters' schema, with the `kind`
/// it is named by and its description.
fn schema_of<K: PopulationKind>(generator: &mut SchemaGenerator) -> Schema {
    let mut schema = K::json_schema(generator);
    let object = schema.ensure_object();
    object.insert("description".into(), K::ABOUT.into());
    let properties = object.entry("properties").or_insert_with(|| serde_json::json!({}));
    if let Some(p) = properties.as_object_mut() {
        p.insert("kind".into(), serde_json::json!({ "const": K::KIND, "type": "string" }));
    }
    let required = object.entry("required").or_insert_with(|| serde_json::json!([]));
    if let Some(r) = required.as_array_mut() {
        r.insert(0, "kind".into());
    }
    schema
}

/// A registered kind's parameters, erased.
trait Entry: erased_serde::Serialize + fmt::Debug + Send + Sync {
    fn kind(&self) -> &'static str;
    fn population(&self) -> &dyn Population;
    fn check(&self) -> Result<(), ParamError>;
    fn fits(&self, markets: &[MarketParams], protocol: &ProtocolParams) -> Result<(), ParamError>;
    fn count(&self) -> u32;
    fn first_index(&self) -> u32;
    fn market(&self) -> u16;
    fn capital(&self) -> i64;
    fn base_inventory(&self) -> i64;
    fn orders_per_tick(&self) -> f64;
    fn holds_positions(&self) -> bool;
    fn scans_auctions(&self) -> bool;
    fn boxed(&self) -> Box<dyn Entry>;
    fn as_any(&self) -> &dyn Any;
    fn same(&self, other: &dyn Any) -> bool;
}

erased_serde::serialize_trait_object!(Entry);

impl<K: PopulationKind> Entry for K {
    fn kind(&self) -> &'static str {
        K::KIND
    }
    fn population(&self) -> &dyn Population {
        self
    }
    fn check(&self) -> Result<(), ParamError> {
        PopulationKind::check(self)
    }
    fn fits(&self, markets: &[MarketParams], protocol: &ProtocolParams) -> Result<(), ParamError> {
        PopulationKind::fits(self, markets, protocol)
    }
    fn count(&self) -> u32 {
        PopulationKind::count(self)
    }
    fn first_index(&self) -> u32 {
        PopulationKind::first_index(self)
    }
    fn market(&self) -> u16 {
        PopulationKind::market(self)
    }
    fn capital(&self) -> i64 {
        PopulationKind::capital(self)
    }
    fn base_inventory(&self) -> i64 {
        PopulationKind::base_inventory(self)
    }
    fn orders_per_tick(&self) -> f64 {
        PopulationKind::orders_per_tick(self)
    }
    fn holds_positions(&self) -> bool {
        PopulationKind::holds_positions(self)
    }
    fn scans_auctions(&self) -> bool {
        PopulationKind::scans_auctions(self)
    }
    fn boxed(&self) -> Box<dyn Entry> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn same(&self, other: &dyn Any) -> bool {
        other.downcast_ref::<K>() == Some(self)
    }
}
