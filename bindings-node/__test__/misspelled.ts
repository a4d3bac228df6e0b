// Must NOT type-check (scripts/test-node.sh compiles it with `tsc --strict` and expects exactly
// the two errors below): a misspelled request field and a misspelled result field are caught
// at compile time, because the declarations have no index signatures.
import { Client } from 'waiaas'

export async function misspelled(agent: Client): Promise<string | null> {
  const sent = await agent.sendToken({ to: '0x0000000000000000000000000000000000000001', amout: '1' })
  const tx = await agent.getTransaction(sent.id)
  return tx.txHsh
}
