// SPDX-License-Identifier: Apache-2.0
// A flagless service that moves its debug port at start (any app may:
// process.debugPort is writable), then leaks like ../../apps/leak.js. SIGUSR1 then
// opens the inspector on DEBUG_PORT (default 9333), not on 9229.
process.debugPort = Number(process.env.DEBUG_PORT || 9333);
require('../../apps/leak.js');
