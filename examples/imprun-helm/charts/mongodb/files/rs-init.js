
const uri = `mongodb://${encodeURIComponent(process.env.MONGO_USER)}:${encodeURIComponent(process.env.MONGO_PASSWORD)}@${HOSTS[0]}/admin?directConnection=true`;
for (let i = 0; ; i++) {
  try { db = connect(uri); db.adminCommand({ ping: 1 }); break; }
  catch (e) { if (i >= 150) throw e; sleep(2000); }
}
let initiated = true;
try { db.adminCommand({ replSetGetStatus: 1 }); }
catch (e) { if (e.code !== 94) throw e; initiated = false; }
if (!initiated) {
  db.adminCommand({ replSetInitiate: { _id: SET, members: [{ _id: 0, host: HOSTS[0] }] } });
  print(`initiated replica set ${SET} with ${HOSTS[0]}`);
}
for (let i = 0; !db.hello().isWritablePrimary; i++) {
  if (i >= 150) throw new Error(`${HOSTS[0]} did not become primary`);
  sleep(2000);
}
const known = db.adminCommand({ replSetGetConfig: 1 }).config.members.map((m) => m.host);
for (const host of HOSTS.filter((h) => !known.includes(h))) {
  rs.add(host);
  print(`added ${host}`);
}
