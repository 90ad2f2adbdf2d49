//! The agent registry: register, look up, list, and the lifecycle.

use crate::agent::{
    transition, AgentFilter, AgentKey, AgentRecord, AgentSpec, AgentStatus, DEFAULT_MAX_DELEGATION_DEPTH,
};
use crate::audit::{lifecycle, EventType};
use crate::error::{Error, ErrorCode, Result};
use crate::keys::{Jwk, PrivateKey, PublicKey};
use crate::principal::PrincipalId;

use super::Runtime;

/// How [`Runtime::rotate_agent_key_with`] rotates.
#[derive(Debug, Clone, Default)]
pub struct RotateKey {
    /// The new public key (the agent keeps the private half); `None`: generate one and keep it
    /// in the store.
    pub public_key: Option<Jwk>,
    /// The old key is compromised: also revoke every grant bound to it.
    pub compromised: bool,
}

fn agent_id(id: &str) -> Result<PrincipalId> {
    PrincipalId::parse(id)?.expect_agent()
}

impl Runtime {
    /// Refuses a public key the authority or any agent already uses: one key, one principal.
    pub(super) fn refuse_known_key(&self, key: &PublicKey) -> Result<()> {
        let loaded = self.loaded()?;
        let taken = loaded.keys.contains_key(key.kid())
            || loaded.agents.values().any(|a| a.kids.iter().any(|k| &**k == key.kid()));
        if taken {
            return Err(Error::new(
                ErrorCode::KeyInvalid,
                format!("key `{}` already belongs to another principal", key.kid()),
            ));
        }
        Ok(())
    }

    /// Registers an agent. Without `spec.public_key`, a key is generated and kept in the store.
    pub fn register_agent(&self, id: &str, spec: AgentSpec) -> Result<AgentRecord> {
        let id = agent_id(id)?;
        let (owner, attributes) = spec.validate()?;
        let now = self.now();
        let (public, private) = match &spec.public_key {
            Some(jwk) => (PublicKey::from_jwk(jwk)?, None),
            None => {
                let key = PrivateKey::generate(spec.alg.unwrap_or(self.options.alg))?;
                (key.public_key().clone(), Some(key))
            }
        };
        if private.is_none() {
            // A key given from outside may be someone's; a key just generated cannot be (and
            // the check reads the whole registry, so it is skipped: registering stays O(1)).
            self.refuse_known_key(&public)?;
        }
        let record = AgentRecord {
            id,
            owner,
            org: spec.org,
            name: spec.name,
            description: spec.description,
            status: AgentStatus::Active,
            attributes,
            max_delegation_depth: spec.max_delegation_depth.unwrap_or(DEFAULT_MAX_DELEGATION_DEPTH),
            keys: vec![AgentKey {
                kid: public.kid().to_owned(),
                alg: public.alg(),
                jwk: public.to_jwk(),
                created_at: now,
                retired_at: None,
                private_in_store: private.is_some(),
            }],
            created_at: now,
            updated_at: now,
        };
        self.store.insert_agent(&record, private)?;
        let kid = record.current_key().map(|k| k.kid.as_str());
        self.emit(lifecycle::agent(EventType::AgentRegistered, &record, kid, self.now_ms()))?;
        Ok(record)
    }

    /// One agent; error `agent_unknown` if it is not registered.
    pub fn get_agent(&self, id: &str) -> Result<AgentRecord> {
        let id = agent_id(id)?;
        self.store
            .get_agent(&id)?
            .ok_or_else(|| Error::new(ErrorCode::AgentUnknown, format!("agent `{id}` is not registered")))
    }

    /// Agents passing `filter`, ordered by id.
    pub fn list_agents(&self, filter: &AgentFilter) -> Result<Vec<AgentRecord>> {
        self.store.list_agents(filter)
    }

    fn set_status(&self, id: &str, to: AgentStatus) -> Result<AgentRecord> {
        let id = agent_id(id)?;
        let now = self.now();
        let record = self.store.update_agent(
            &id,
            &mut |rec| {
                transition(&rec.id, rec.status, to)?;
                rec.status = to;
                rec.updated_at = now;
                Ok(())
            },
            None,
        )?;
        let kind = match to {
            AgentStatus::Active => EventType::AgentResumed,
            AgentStatus::Suspended => EventType::AgentSuspended,
            AgentStatus::Revoked => EventType::AgentRevoked,
        };
        self.emit(lifecycle::agent(kind, &record, None, self.now_ms()))?;
        Ok(record)
    }

    /// Suspends an agent: every credential whose chain contains it is refused from the next
    /// verification on, until it is resumed.
    pub fn suspend_agent(&self, id: &str) -> Result<AgentRecord> {
        self.set_status(id, AgentStatus::Suspended)
    }

    /// Resumes a suspended agent.
    pub fn resume_agent(&self, id: &str) -> Result<AgentRecord> {
        self.set_status(id, AgentStatus::Active)
    }

    /// Revokes an agent, for good.
    pub fn revoke_agent(&self, id: &str) -> Result<AgentRecord> {
        self.set_status(id, AgentStatus::Revoked)
    }

    /// Replaces an agent's key: with `public_key`, that key (the agent keeps the private half);
    /// otherwise a new key is generated and kept in the store. The old key is retired and its
    /// private half, if stored, deleted; grants already bound to it stay valid until they expire
    /// or are revoked, but the retired key verifies only links issued at or before its
    /// retirement, and no proof of possession. See [`Runtime::rotate_agent_key_with`] to also
    /// revoke the grants bound to a compromised key.
    pub fn rotate_agent_key(&self, id: &str, public_key: Option<&Jwk>) -> Result<AgentRecord> {
        self.rotate_agent_key_with(id, &RotateKey { public_key: public_key.cloned(), compromised: false })
    }

    /// Like [`Runtime::rotate_agent_key`]; with `compromised`, every recorded grant bound to
    /// the agent's old key (its link's `cnf`), and with it every grant attenuated from one, is
    /// revoked too (one `grant.revoked` event each).
    pub fn rotate_agent_key_with(&self, id: &str, opts: &RotateKey) -> Result<AgentRecord> {
        let public_key = opts.public_key.as_ref();
        let id = agent_id(id)?;
        let now = self.now();
        let current = self.get_agent(id.as_str())?;
        let alg = current.current_key().map(|k| k.alg).unwrap_or(self.options.alg);
        let (public, private) = match public_key {
            Some(jwk) => (PublicKey::from_jwk(jwk)?, None),
            None => {
                let key = PrivateKey::generate(alg)?;
                (key.public_key().clone(), Some(key))
            }
        };
        if private.is_none() {
            self.refuse_known_key(&public)?;
        }
        let stored = private.is_some();
        let record = self.store.update_agent(
            &id,
            &mut |rec| {
                if rec.status == AgentStatus::Revoked {
                    return Err(Error::new(ErrorCode::AgentRevoked, format!("agent `{}` is revoked", rec.id)));
                }
                if rec.keys.iter().any(|k| k.kid == public.kid()) {
                    return Err(Error::new(
                        ErrorCode::KeyInvalid,
                        format!("key `{}` was already used by this agent", public.kid()),
                    ));
                }
                for k in rec.keys.iter_mut().filter(|k| k.retired_at.is_none()) {
                    k.retired_at = Some(now);
                }
                rec.keys.push(AgentKey {
                    kid: public.kid().to_owned(),
                    alg: public.alg(),
                    jwk: public.to_jwk(),
                    created_at: now,
                    retired_at: None,
                    private_in_store: stored,
                });
                rec.updated_at = now;
                Ok(())
            },
            private,
        )?;
        self.emit(lifecycle::agent(EventType::AgentKeyRotated, &record, Some(public.kid()), self.now_ms()))?;
        if opts.compromised {
            self.revoke_bound_to(&current)?;
        }
        Ok(record)
    }

    /// Revokes every recorded grant to `before`'s agent bound to one of the keys current in
    /// `before` (the record read before the rotation). A grant recorded without its key is
    /// matched by when it was issued: while that key was current.
    fn revoke_bound_to(&self, before: &AgentRecord) -> Result<()> {
        let old: Vec<&AgentKey> = before.keys.iter().filter(|k| k.retired_at.is_none()).collect();
        let now = self.now();
        for grant in self.store.grants_to(&before.id)? {
            let bound = old.iter().any(|k| match &grant.key_kid {
                Some(kid) => *kid == k.kid,
                None => grant.issued_at >= k.created_at && grant.issued_at <= now,
            });
            if bound {
                self.revoke(&grant.grant_id)?;
            }
        }
        Ok(())
    }
}
