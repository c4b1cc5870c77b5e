// Chat messages of one conversation, kept in seq order without duplicates
// (a message can come from history, a push and a resume).
export function mergeMessages(list, incoming) {
  const bySeq = new Map(list.map((m) => [m.seq, m]));
  for (const m of incoming) if (m && Number.isInteger(m.seq)) bySeq.set(m.seq, { ...bySeq.get(m.seq), ...m, pending: false });
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

// The highest seq received with no gap before it (what resume sends).
export function lastContiguous(list, from = 0) {
  let s = from;
  for (const m of list) { if (m.seq === s + 1) s = m.seq; else if (m.seq > s + 1) break; }
  return s;
}
