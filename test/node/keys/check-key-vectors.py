# Independent cross-check of test/fixtures/vectors/ratchet.json and descriptor.json in Python
# (hashlib BLAKE2b + the `cryptography` package), sharing no code with mixgate.
# Run from the repository root: python3 test/node/keys/check-key-vectors.py
import json, hashlib, struct
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization as S
raw=lambda k: k.public_key().public_bytes(S.Encoding.Raw, S.PublicFormat.Raw)
def kdf(n, i, ctx, key): return hashlib.blake2b(b'', digest_size=n, key=key, salt=struct.pack('<Q', i)+b'\0'*8, person=ctx.encode()+b'\0'*8).digest()
nxt=lambda s: hashlib.blake2b(b'mixgate/v1/ratchet'+s, digest_size=32).digest()
lab=lambda l: hashlib.blake2b(('mixgate test vector '+l).encode(), digest_size=32).digest()
v=json.load(open('test/fixtures/vectors/ratchet.json'))
s=bytes.fromhex(v['input']['seed0']); assert s==lab('ratchet seed')
for e in v['epochs']:
    sk=kdf(32,1,'mgonion1',s)
    assert e['seed']==s.hex() and e['onionSecretKey']==sk.hex() and e['onionPublicKey']==raw(X25519PrivateKey.from_private_bytes(sk)).hex(), e
    s=nxt(s)
print('ratchet ok')
d=json.load(open('test/fixtures/vectors/descriptor.json'))
n=d['node']; i=n['input']
ident=Ed25519PrivateKey.from_private_bytes(bytes.fromhex(i['identitySeed']))
link=raw(X25519PrivateKey.from_private_bytes(bytes.fromhex(i['linkSecretKey'])))
seed=bytes.fromhex(i['onionSeed10']); keys=[]
for ep in (10,11):
    keys.append((ep, raw(X25519PrivateKey.from_private_bytes(kdf(32,1,'mgonion1',seed))))); seed=nxt(seed)
p=i['params']
pub=i['published']; vu=p['genesis']+12*p['epochS']
addr=i['address'].encode()
sh=p['shaping']
params=struct.pack('>IIIQBB', p['cellSize'], p['roundMs'], p['epochS'], p['genesis'], ['off','strict','elastic'].index(sh['profile']), len(sh['ratesMilli']))
params+=b''.join(struct.pack('>I', r) for r in sh['ratesMilli'])
params+=struct.pack('>8I', sh['slotMs'], sh['circuits'], sh['circuitSlots'], sh['kMin'], sh['createHoldRounds'], sh['loopsPerSlot'], sh['loopJitterRounds'], sh['clientRateMilli'])
body=bytes([1,1])+struct.pack('>H',len(addr))+addr+raw(ident)+link+params+struct.pack('>QQB',pub,vu,len(keys))+b''.join(struct.pack('>Q',e)+k for e,k in keys)
msg=b'mixgate/v1/node-descriptor\0'+body
assert msg.hex()==n['message'], 'message'
assert ident.sign(msg).hex()==n['signature'], 'sig'
desc=n['descriptor']; assert desc['signature']==n['signature'] and desc['validUntil']==vu
c=d['cascadeId']['input']
core=bytes([1])+params+bytes([len(c['hops'])])
for pos,h in enumerate(c['hops'],1):
    a=h['address']; t=('[%s]:%d' if ':' in a['host'] else '%s:%d')%(a['host'],a['port'])
    core+=bytes([pos,1 if h['role']=='mix' else 2])+bytes.fromhex(h['identityKey'])+bytes.fromhex(h['linkKey'])+struct.pack('>H',len(t))+t.encode()
assert hashlib.blake2b(b'mixgate/v1/cascade-core\0'+core, digest_size=32).hexdigest()==d['cascadeId']['id'], 'cascade id'
print('descriptor ok')
