// ES module entry: the CommonJS build re-exported under its own names, so
// that `import { capture } from 'burstcap'` and require('burstcap') share one
// module instance (one BurstcapError class, one EAL state).
import burstcap from '../dist/src/index.js';

export const { capture, cleanup, doctor, exitNow, listPorts, mustExitNow, BurstcapError, isBurstcapError } = burstcap;
export default burstcap;
