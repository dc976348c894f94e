BYJ<lJý@>±AõA˜AaNA±Í"AZ"A¸©
Auòì@¿à&AèAÉô×@úßÓ@ñ&AÞr$A