/** What a parked inbox entry says while it waits behind an earlier failed message of its key. */
export const PARKED_REASON = 'Waiting behind an earlier message with the same ordering key';
