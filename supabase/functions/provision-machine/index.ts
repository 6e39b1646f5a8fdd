// The web UI's "Start Machine": a Supabase Edge Function (Deno) on the contract the bot and the
// runtime share. See handler.ts for the answers and docs/deploying.md ("The edge function").
import { createHandler } from './handler.ts';

Deno.serve(createHandler({ env: Deno.env.toObject() }));
